// The reference convolution: explicit nested loops, deliberately unoptimised and single-threaded.
// It is what tests and `tinycnn profile` compare every fast path (conv/) against.
// Shapes: input [N, C, H, W], weight [OC, C/groups, KH, KW], bias [OC], output [N, OC, OH, OW].
// Backward overwrites dinput / dweight / dbias; pass nullptr to skip any of them.
#pragma once

#include "kernels/geometry.hpp"

namespace tinycnn::kernels {

void conv2d_naive_forward(const Conv2dGeometry& g, const float* input, const float* weight,
                          const float* bias, float* output);

void conv2d_naive_backward(const Conv2dGeometry& g, const float* input, const float* weight,
                           const float* doutput, float* dinput, float* dweight, float* dbias);

}  // namespace tinycnn::kernels
