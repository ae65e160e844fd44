// Pieces of the implicit convolution's backward (implicit.cpp) that its bf16 form
// (implicit_bf16.cpp) shares.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/conv/wide_layout.hpp"
#include "kernels/geometry.hpp"
#include "kernels/parallel.hpp"
#include "kernels/simd.hpp"

namespace tinycnn::kernels {

// dweight: images whose padded input and wide doutput are kept side by side for rows_gemm_t.
inline constexpr int64_t kImplicitChunk = 16;

// The transposed convolution's A operand per group: [(m, ky, kx)][c] = W[m][c][K-1-ky][K-1-kx].
std::vector<float> flipped_weights(const Conv2dGeometry& g, const float* weight);
// The wide D [cout][nq] of `w` into the transposed convolution's padded input (zero elsewhere).
void pad_wide_gradient(const Wide& w, const float* d, const Conv2dGeometry& gt, const Wide& wt,
                       float* p);
// dbias sums of one image's wide gradient d [cout][nq], a vector of lane partials per channel.
void add_dbias_wide(const Wide& w, const float* d, simd::Vec* bsums);
// dbias sums of one image's transposed gradient dt [pixels][cout], one vector of channels each,
// in a register (adding into memory made one chain of store-to-load round trips).
void add_dbias_pixel_major(const Wide& w, int64_t pixels, const float* dt, simd::Vec* bsums);
// Pixel-major sums [groups][taps + 1][cout] of every thread, in thread order, into dweight
// [OC][taps] and dbias [OC]. Float i of a thread's slice: lane i % kLanes of its vector i / kLanes.
void reduce_pixel_major(const Conv2dGeometry& g, const Wide& w, const ThreadSums& sums,
                        float* dweight, float* dbias);

}  // namespace tinycnn::kernels
