// The two ends of the implicit convolution (implicit.hpp), one image and group at a time:
// what its forward writes after the GEMM, and where its backward's doutput comes from. Plain:
// the output [N, OC, OH, OW], ReLU'd when a ReLU is fused in. Pooled: a ReLU and a 2x2 / stride 2
// max pool fused in, only the pooled output and its argmax written (the full output never is),
// and the backward starts from the pooled gradient. Either way the values are those of the
// separate kernels in turn (conv, relu_forward, maxpool2d_forward and their backwards).
#pragma once

#include <cstdint>

#include "kernels/conv/wide_layout.hpp"

namespace tinycnn::kernels {

struct ConvOutput {
  float* output = nullptr;    // [N, OC, OH, OW]
  bool relu = false;          // max(0, .) of each output
  float* pooled = nullptr;    // instead of output: [N, OC, OH/2, OW/2] of the ReLU'd output
  int32_t* argmax = nullptr;  // with pooled: the index in the OH x OW plane of each maximum
};

struct ConvGradient {
  const float* doutput = nullptr;      // [N, OC, OH, OW]
  const float* relu_output = nullptr;  // with doutput (or null): no gradient where it is <= 0
  const float* dpooled = nullptr;      // instead of doutput: [N, OC, OH/2, OW/2]
  const float* pooled = nullptr;       // with dpooled: no gradient where it is <= 0
  const int32_t* argmax = nullptr;     // with dpooled: where each pooled gradient goes
};

// plane0: the batch-wide index of the group's first output plane (n*OC + grp*cout).
// From a wide result [cout][nq] (w.wide_floats readable).
void store_wide(const Wide& w, const ConvOutput& o, int64_t plane0, const float* wide);
// From the pixel-major result out_t [pixels][kLanes] of channels [m0, m0 + kLanes) (modified).
void store_pixel_major(const Wide& w, const ConvOutput& o, int64_t plane0, int64_t m0,
                       float* out_t);
// D [cout][nq]: the gradient in the wide layout. Zero on entry everywhere but the pixels this
// writes (the same for every call of one geometry: the thrown-away columns, and for the pooled
// gradient the pixels no 2x2 window covers, are never written).
void wide_gradient(const Wide& w, const ConvGradient& d, int64_t plane0, float* dwide);
// dt [pixels][cout]: the gradient with a pixel's channels side by side.
void pixel_gradient(const Wide& w, const ConvGradient& d, int64_t plane0, float* dt);

}  // namespace tinycnn::kernels
