// Convolution as im2col + GEMM, one image at a time so the column matrix stays in cache, with
// images split across OpenMP threads. Same shapes and overwrite semantics as conv2d_reference.hpp:
// input [N, C, H, W], weight [OC, C/groups, KH, KW], bias [OC], output [N, OC, OH, OW].
// Per group g:  out_g[OCg, OH*OW] = W_g[OCg, Cg*KH*KW] x col_g[Cg*KH*KW, OH*OW] (+ bias)
//               dW_g += dout_g x col_g^T,   dcol_g = W_g^T x dout_g,   dinput_g = col2im(dcol_g)
#pragma once

#include <cstdint>

#include "kernels/geometry.hpp"

namespace tinycnn::kernels {

// `columns` (optional, conv2d_columns_numel floats (conv2d.hpp): [N, groups, Cg*KH*KW, ld], the
// textbook im2col matrix with each row padded with zeros from OH*OW to ld, a whole number of
// micro-kernel blocks) receives the forward's column matrices; given to backward, they are read
// instead of recomputed — memory for speed.
void conv2d_im2col_forward(const Conv2dGeometry& g, const float* input, const float* weight,
                           const float* bias, float* output, float* columns = nullptr);

void conv2d_im2col_backward(const Conv2dGeometry& g, const float* input, const float* weight,
                            const float* doutput, float* dinput, float* dweight, float* dbias,
                            const float* columns = nullptr);

// Bytes of scratch the implementation holds at once with `threads` threads (forward, backward).
// Floats of the column matrices of a whole batch, as kept for the backward.
int64_t conv2d_columns_numel(const Conv2dGeometry& g);
int64_t conv2d_im2col_forward_workspace_bytes(const Conv2dGeometry& g, int threads);
int64_t conv2d_im2col_backward_workspace_bytes(const Conv2dGeometry& g, int threads);

}  // namespace tinycnn::kernels
