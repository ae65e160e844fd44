// The int8 products behind int8 convolution and linear layers: u8 activations (channels-last)
// times s8 weights into int32 sums, four channels at a time — the operand layout of
// AVX512-VNNI's vpdpbusd, which adds four u8 x s8 products into each int32 lane. With VNNI (a
// build for a CPU that has it) the sums run on vpdpbusd; otherwise, or when `portable` is asked
// for, on plain integer loops. Integer sums are exact, so both give the same result.
#pragma once

#include <cstdint>

namespace tinycnn::kernels {

// A convolution's int8 sums over channels-last (NHWC) activations, output channels in the
// vector lanes: C[p][f] = sum over taps t, channel groups q < c4 and u < 4 of
// (base[p] + tap[t])[4q + u] * W[t][q][f][u]: base[p] points at output pixel p's window in a
// zero-point-padded input, tap[t] is kernel tap t's byte offset from it, and 4 * c4 channel bytes
// follow; W is packed [taps][c4][n][4] with n a multiple of 16 (zero weights beyond the real
// output channels); C is [pixels][n].
// With `epilogue`, each pixel's sums are requantized to bytes instead (as requantize_u8 below,
// the same bytes): y[p * y_stride + f] for f < channels; the VNNI blocks do it in registers,
// without writing C (which must still hold pixels x n int32 for the portable loops).
struct Requantize {
  const int32_t* offset = nullptr;  // [n]
  const float* scale = nullptr;     // [n]
  int32_t zero = 0, lo = 0;
  int64_t channels = 0;
  uint8_t* y = nullptr;
  int64_t y_stride = 0;
};
void conv_taps_s8u8(int64_t pixels, int64_t taps, int64_t c4, int64_t n, const uint8_t* const* base,
                    const int64_t* tap, const int8_t* w, int32_t* c,
                    const Requantize* epilogue = nullptr, bool portable = false);

// y[f] = clamp(round_half_even(float(acc[f] + offset[f]) * scale[f]) + zero, lo, 255) for f < n:
// the requantizing epilogue, vectorised where the build can (the same bytes either way). The
// zero point is added after rounding, as an integer: exact, and what ONNX runtimes do.
void requantize_u8(int64_t n, const int32_t* acc, const int32_t* offset, const float* scale,
                   int32_t zero, int32_t lo, uint8_t* y);

// A depthwise convolution's output bytes (each channel its own window): for pixel p and channel
// f < e.channels, sum over taps t of (base[p] + tap[t])[f] * W[t][f], requantized by `e` as
// above. W is [taps][n] int8, n = channels rounded up to 16 (zeros beyond). Channels in the
// vector lanes (16 at a time, int32 products) where the build has AVX-512, else plain loops; the
// same bytes either way (`portable` forces the loops).
void depthwise_s8u8(int64_t pixels, int64_t taps, int64_t n, const uint8_t* const* base,
                    const int64_t* tap, const int8_t* w, const Requantize& e,
                    bool portable = false);

// One image's max pooling on channels-last bytes: x [h][w][cp] into y [oh][ow][cp], windows kh x kw
// at strides sh, sw, padding ph, pw left out of the max (0 where a window holds nothing).
// Masked 64-byte vectors where the build has AVX-512 (a pixel's few channels included).
struct PoolGeometry {
  int64_t h = 0, w = 0, cp = 0, oh = 0, ow = 0, kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0;
};
void max_pool_u8(const PoolGeometry& g, const uint8_t* x, uint8_t* y);

}  // namespace tinycnn::kernels
