// Max and average pooling over [N, C, H, W] -> [N, C, OH, OW].
// Max pooling pads with -inf and saves, per output, the argmax as an index into its input plane
// (ih*W + iw), which is all its backward needs. Average pooling counts padding as zeros and
// divides by the full window (PyTorch's count_include_pad=True). Backward overwrites dinput.
#pragma once

#include <cstdint>

#include "kernels/geometry.hpp"

namespace tinycnn::kernels {

void maxpool2d_forward(const Pool2dGeometry& g, const float* input, float* output,
                       int32_t* argmax);
void maxpool2d_backward(const Pool2dGeometry& g, const float* doutput, const int32_t* argmax,
                        float* dinput);

void avgpool2d_forward(const Pool2dGeometry& g, const float* input, float* output);
void avgpool2d_backward(const Pool2dGeometry& g, const float* doutput, float* dinput);

}  // namespace tinycnn::kernels
