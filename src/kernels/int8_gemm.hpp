// The int8 matrix product behind int8 convolution and linear layers: C[m][n] = sum over k of
// A[m][k] * B[k][n], A signed 8-bit (weights), B unsigned 8-bit (activations), C int32. B is
// packed in groups of four k: Bp[k / 4][n][k % 4], k padded to a multiple of 4 (the padding's A
// is 0, so any B there adds nothing) — the operand layout of AVX512-VNNI's vpdpbusd, which adds
// four u8 x s8 products into each int32 lane. With VNNI (a build for a CPU that has it) the
// product runs on vpdpbusd; otherwise, or when `portable` is asked for, on plain integer loops.
// Integer sums are exact, so both give the same C.
#pragma once

#include <cstdint>

namespace tinycnn::kernels {

// Whether this build's int8 product can use vpdpbusd.
bool int8_vnni_available();

// C (m x n, row stride n) = A (m x 4 * k4, row stride 4 * k4) times Bp (k4 x n x 4).
void gemm_s8u8(int64_t m, int64_t n, int64_t k4, const int8_t* a, const uint8_t* bp, int32_t* c,
               bool portable = false);

}  // namespace tinycnn::kernels
