// Winograd convolution F(m x m, 3 x 3) for 3x3 stride-1 layers (any padding, any groups): an m x m
// tile of output from an (m+2) x (m+2) tile of input with (m+2)^2 multiplies per input and output
// channel instead of 9 m^2 (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural
// Networks"). With a = m + 2 and the transforms B (a x a), G (a x 3), A (a x m) of the tile size:
//   U[k][c] = G g[k][c] G^T              (each filter, once per call)
//   V[c][t] = B^T d[c][t] B              (each input tile t of each channel)
//   M[xi][k][t] = sum_c U[xi][k][c] V[xi][c][t]   (a^2 independent GEMMs, xi = each of a x a)
//   Y[k][t] = A^T M[k][t] A              (each output tile)
// F(2x2, 3x3) uses the points 0, 1, -1 and infinity; F(4x4, 3x3) 0, 1, -1, 2, -2 and infinity.
// The larger tile multiplies less (4x fewer than direct, against 2.25x) but its transforms have
// larger coefficients, so its float error is larger: the bounds are docs/design.md's and
// tests/winograd_test.cpp's.
// Layout inside: a block of tiles is copied into [y][x][channel] (channels padded to whole
// vectors), the transforms and the GEMMs run on vectors of channels, and the output goes back to
// [N, C, H, W]. Every output element is computed the same way whatever the thread count (images
// and rows of tiles are split across threads, never the channel sums), so results do not depend on
// the thread count.
// dinput of a stride-1 convolution is the forward convolution of doutput (padded by 2 - pad) with
// the kernel flipped and its channels swapped, so it runs the same path where pad <= 2; dweight is
// not computed here.
#pragma once

#include <cstdint>
#include <string_view>

#include "kernels/geometry.hpp"

namespace tinycnn::kernels {

struct WinogradPlan {
  int tile = 4;         // m: 2 or 4
  bool dinput = false;  // dinput as the Winograd forward of the transposed convolution (pad <= 2)
};

// Why g cannot run as Winograd ("kernel 5x5", "stride 2"), or empty when it can.
std::string_view winograd_unsupported(const Conv2dGeometry& g);
// The tile for g (which must be supported): the one with fewer multiplies and transform
// operations per output, F(4x4) unless the map is so small that its tiles are mostly padding.
WinogradPlan plan_winograd(const Conv2dGeometry& g);
// A plan with the tile forced (2 or 4): the tests' and the profiler's.
WinogradPlan plan_winograd(const Conv2dGeometry& g, int tile);

// Output [N, OC, OH, OW], ReLU'd when `relu`; bias may be null.
void conv2d_winograd_forward(const WinogradPlan& plan, const Conv2dGeometry& g, const float* input,
                             const float* weight, const float* bias, float* output, bool relu);
// dinput from doutput (masked where relu_output <= 0 when relu_output is given); plan.dinput.
void conv2d_winograd_dinput(const WinogradPlan& plan, const Conv2dGeometry& g, const float* weight,
                            const float* doutput, const float* relu_output, float* dinput);

// Bytes of scratch held at once with `threads` threads (forward; dinput).
int64_t conv2d_winograd_forward_workspace_bytes(const WinogradPlan& plan, const Conv2dGeometry& g,
                                                int threads);
int64_t conv2d_winograd_dinput_workspace_bytes(const WinogradPlan& plan, const Conv2dGeometry& g,
                                               int threads);
// The error each tile is held to against the naive float32 convolution, in every direction:
// max |winograd - naive| <= bound * max |naive| (tests/winograd_test.cpp; docs/design.md).
double winograd_error_bound(int tile);  // 1e-5 for F(2x2,3x3), 5e-5 for F(4x4,3x3)

// The multiplies the forward (or dinput) really does, as FLOPs (two per multiply-add): the GEMMs'
// (tile positions x input channels x output channels per tile); transforms not counted.
int64_t conv2d_winograd_gemm_flops(const WinogradPlan& plan, const Conv2dGeometry& g);

}  // namespace tinycnn::kernels
