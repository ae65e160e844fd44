// Max and average pooling over [N, C, H, W] -> [N, C, OH, OW].
// Max pooling pads with -inf and saves, per output, the argmax as an index into its input plane
// (ih*W + iw), which is all its backward needs. Average pooling counts padding as zeros and
// divides by the full window (PyTorch's count_include_pad=True). Backward overwrites dinput.
#pragma once

#include <cstdint>

#include "kernels/geometry.hpp"

namespace tinycnn::kernels {

void maxpool2d_forward(const Pool2dGeometry& g, const float* input, float* output, int32_t* argmax);
void maxpool2d_backward(const Pool2dGeometry& g, const float* doutput, const int32_t* argmax,
                        float* dinput);

// One output row of a 2x2 / stride 2 max pool: out[j] = the largest of top[2j], top[2j + 1],
// bottom[2j], bottom[2j + 1] (j < count), the first maximum, NaN winning as in PyTorch; with
// relu of max(0, x) of each (a ReLU before the pool; NaN -> 0). argmax[j] = base + 2j + 0, 1, w
// or w + 1 (w: the row length of the plane the indices count in; top and bottom need not be w
// apart). Reads may go up to 2*kLanes floats past a row's last window, never past read_end.
void maxpool2x2_row(const float* top, const float* bottom, int64_t count, int32_t base, int32_t w,
                    bool relu, const float* read_end, float* out, int32_t* argmax);

// Its backward, written densely: top[2j], top[2j + 1], bottom[2j], bottom[2j + 1] (j < count)
// get doutput[j] where argmax[j] (base + 2j + 0, 1, w or w + 1) points and 0 elsewhere; with key
// (the pooled ReLU'd output, or null) none where key[j] <= 0.
void maxpool2x2_backward_row(const float* doutput, const float* key, const int32_t* argmax,
                             int64_t count, int32_t base, int32_t w, float* top, float* bottom);

void avgpool2d_forward(const Pool2dGeometry& g, const float* input, float* output);
void avgpool2d_backward(const Pool2dGeometry& g, const float* doutput, float* dinput);

}  // namespace tinycnn::kernels
