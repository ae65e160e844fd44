// im2col / col2im for one image and one group.
// image: [Cg, H, W] (the group's channels of one image); col: [Cg*KH*KW, OH*OW], row index
// (c*KH + kh)*KW + kw, column index oh*OW + ow. Padding positions become 0.
// im2col overwrites col; col2im ADDS into image (the caller zeroes it first).
// ld (> 0): the distance between col rows, >= OH*OW; im2col zeroes each row's [OH*OW, ld) tail.
#pragma once

#include "kernels/geometry.hpp"

namespace tinycnn::kernels {

void im2col(const Conv2dGeometry& g, const float* image, float* col, int64_t ld = 0);
void col2im(const Conv2dGeometry& g, const float* col, float* image, int64_t ld = 0);

}  // namespace tinycnn::kernels
