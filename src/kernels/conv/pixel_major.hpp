// Pixel-major kernels of the implicit convolution (implicit.hpp), for layers whose output
// channels fill whole vectors and whose wide rows throw much away (LeNet's conv2 keeps 10 of 14,
// ResNet-20's 8x8 stage 8 of 10; at 16 of 18 the wide path is faster):
// only the real pixels are computed, one vector of output channels each, as broadcasts of the
// input times weight vectors; dweight (3x3 and 5x5 kernels) keeps all its taps' sums in
// registers while the pixels stream through. Per output element the same fused multiply-adds in
// the same order as rows_gemm / rows_gemm_t, so the same bits as the wide path.
#pragma once

#include <cstdint>

#include "kernels/conv/wide_layout.hpp"
#include "kernels/geometry.hpp"
#include "kernels/simd.hpp"

namespace tinycnn::kernels {

bool use_pixel_major(const Wide& w);

// One image and group, output channels [m0, m0 + kLanes): out_t[pixel][lane] for the OH x OW
// pixels; wt = W^T [taps][cout] of the group, bias of the group (or null).
void pixel_major_forward(const Wide& w, const float* p, const float* wt, const float* bias,
                         int64_t m0, float* out_t);

// dweight sums [taps + 1][cout / kLanes] vectors (the last row dbias's, not touched here) +=
// over `count` images: padded inputs pc (w.p_floats apart), doutput transposed dtc
// ([pixels][cout] per image). Null where the layer does not qualify.
using PixelDweight = void (*)(const Wide&, const float* pc, int64_t count, const float* dtc,
                              simd::Vec* tsums);
PixelDweight select_pixel_dweight(const Conv2dGeometry& g, const Wide& w);

}  // namespace tinycnn::kernels
