// The bfloat16 forms of row_gemm.hpp's two kernels (mixed precision: bfloat16 operands, float32
// sums), the inner loops of the implicit convolution in bf16 (implicit_bf16.hpp):
//   rows_gemm_bf16:   C[m][q] = init[m] + sum_{t < pairs} dot(A[t*lda + m], B[off[t] + q])
//   rows_gemm_t_bf16: S[m][t] += sum_q D[m*ldd + q] * B[off[t] + q]
// In rows_gemm_bf16 every operand is a Bfloat16Pair (bf16.hpp) and dot(a, b) = a.lo*b.lo +
// a.hi*b.hi: a row of B pairs two reduction rows of the float32 kernel (two input channels at one
// tap), so `pairs` is half the float kernel's taps (rounded up; a missing partner is zero). Rows of
// rows_gemm_t_bf16 are plain bfloat16, the pairs two neighbouring q: its q runs over whole
// vectors of 2 * kLanes values, so D must be zero and B readable up to nq rounded up to that.
// On AVX512-BF16 each dot is one lane of vdpbf16ps; the portable path computes the same two
// products with float32 fused multiply-adds (the high product first, as the instruction is
// specified), so the two agree up to the instruction's flushing of subnormals.
#pragma once

#include <cstdint>

#include "kernels/bf16.hpp"
#include "kernels/conv/pixel_major.hpp"
#include "kernels/conv/row_gemm.hpp"
#include "kernels/conv/wide_layout.hpp"
#include "kernels/geometry.hpp"
#include "kernels/simd.hpp"

namespace tinycnn::kernels {

// q per step of rows_gemm_t_bf16: one vector of bfloat16.
inline constexpr int64_t kBf16Block = int64_t{2} * simd::kLanes;

// nq a multiple of kRowBlock, as rows_gemm's.
void rows_gemm_bf16(int64_t rows, const Bfloat16Pair* a, int64_t lda, const Bfloat16Pair* b,
                    const int64_t* off, int64_t pairs, const float* init, float* c, int64_t ldc,
                    int64_t nq);

void rows_gemm_t_bf16(int64_t rows, const Bfloat16* d, int64_t ldd, const Bfloat16* b,
                      const int64_t* off, int64_t taps, int64_t nq, simd::Vec* s,
                      ImageBatch batch = {});

// pixel_major_forward (pixel_major.hpp) in bf16, where the float32 plan's forward is pixel-major:
// the paired padded image p2 (rows at off, `pairs` of them, as rows_gemm_bf16's B) times the
// group's paired weights a2 ([pairs][cout]), output channels [m0, m0 + kLanes): out_t[pixel][lane]
// for the OH x OW pixels. Per output element the same dots in the same order as rows_gemm_bf16.
void pixel_major_forward_bf16(const Wide& w, const int64_t* off, int64_t pairs,
                              const Bfloat16Pair* p2, const Bfloat16Pair* a2, const float* bias,
                              int64_t m0, float* out_t);

// Pixel-major dweight in bf16 (pixel_major.hpp's, for the layers it serves: stride 1, output
// channels in whole vectors, 3x3 and 5x5 kernels, narrow rows): for a vector of output channels
// and an input channel all taps' sums stay in registers while the real pixels stream through,
// two neighbouring pixels of a row per dot: the padded image as plain bfloat16 rows (pc, one
// image every pc_stride), the gradient transposed and paired over those pixels, dt2
// [oh][ceil(ow/2)][cout] pairs per image (a missing partner zero). Sums as pixel_major's:
// [taps][cout / kLanes] vectors of channels.
using PixelDweightBf16 = void (*)(const Wide& w, const Bfloat16* pc, int64_t pc_stride,
                                  int64_t count, const Bfloat16Pair* dt2, simd::Vec* tsums);
// Null where pixel_major's dweight does not serve the layer.
PixelDweightBf16 select_pixel_dweight_bf16(const Conv2dGeometry& g, const Wide& w);

}  // namespace tinycnn::kernels
