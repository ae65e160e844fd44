// GEMM over rows gathered by offset: the one inner loop of both fast convolutions.
//   rows_gemm:   C[m][q] = init[m] + sum_t A[t*lda + m] * B[off[t] + q]
//   rows_gemm_t: S[m][t] += sum_q D[m*ldd + q] * B[off[t] + q]
// Row t of the B operand starts at B + off[t]: for im2col that is row t of the column matrix
// (off[t] = t*ld); for the implicit path a shifted window of the padded image, rows overlapping.
// q runs over whole blocks: nq must be a multiple of kRowBlock (callers pad their rows with
// zeros or throw-away columns), and B + off[t] + nq must stay inside B's allocation.
// S holds one vector per (m, t): a thread keeps adding images into it and sums the lanes once.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/simd.hpp"

namespace tinycnn::kernels {

inline constexpr int64_t kRowBlock = int64_t{3} * simd::kLanes;

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

void rows_gemm(int64_t rows, const float* a, int64_t lda, const float* b, const int64_t* off,
               int64_t taps, const float* init, float* c, int64_t ldc, int64_t nq);

// Several images at once for rows_gemm_t: image i's D and B are d + i*d_stride, b + i*b_stride.
struct ImageBatch {
  int64_t count = 1;
  int64_t d_stride = 0, b_stride = 0;
};

void rows_gemm_t(int64_t rows, const float* d, int64_t ldd, const float* b, const int64_t* off,
                 int64_t taps, int64_t nq, simd::Vec* s, ImageBatch batch = {});

// For each of `groups` [rows, cols] matrices at a, its transpose [cols, rows], one after another:
// conv weights [OC, taps] per group -> A operands [taps, OC].
std::vector<float> transpose_groups(const float* a, int64_t groups, int64_t rows, int64_t cols);

}  // namespace tinycnn::kernels
