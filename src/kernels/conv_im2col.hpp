// Convolution as im2col + GEMM, one image at a time so the column matrix stays in cache, with
// images split across OpenMP threads. Same shapes and overwrite semantics as conv_naive.hpp:
// input [N, C, H, W], weight [OC, C/groups, KH, KW], bias [OC], output [N, OC, OH, OW].
// Per group g:  out_g[OCg, OH*OW] = W_g[OCg, Cg*KH*KW] x col_g[Cg*KH*KW, OH*OW] (+ bias)
//               dW_g += dout_g x col_g^T,   dcol_g = W_g^T x dout_g,   dinput_g = col2im(dcol_g)
#pragma once

#include <cstdint>

#include "kernels/geometry.hpp"

namespace tinycnn::kernels {

// `columns` (optional, conv2d_columns_numel floats: [N, groups, Cg*KH*KW, ld], the textbook
// im2col matrix with each row padded with zeros from OH*OW to ld, a whole number of micro-kernel
// blocks) receives the forward's column matrices; given to backward, they are read instead of
// recomputed — memory for speed.
void conv2d_im2col_forward(const Conv2dGeometry& g, const float* input, const float* weight,
                           const float* bias, float* output, float* columns = nullptr);

void conv2d_im2col_backward(const Conv2dGeometry& g, const float* input, const float* weight,
                            const float* doutput, float* dinput, float* dweight, float* dbias,
                            const float* columns = nullptr);

int64_t conv2d_columns_numel(const Conv2dGeometry& g);

// Bytes of scratch the implementation holds at once with `threads` threads (forward, backward).
int64_t conv2d_im2col_forward_workspace_bytes(const Conv2dGeometry& g, int threads);
int64_t conv2d_im2col_backward_workspace_bytes(const Conv2dGeometry& g, int threads);

// Dispatch on the algorithm; `columns` as above (im2col only, ignored by the others). Implicit
// runs im2col + GEMM where it does not apply (stride > 1).
// A fused ReLU: forward `relu` stores max(0, .) of each output; backward `relu_output` (that
// output) masks doutput first. The implicit kernels do it in their stores and copies, the others
// in a separate pass.
void conv2d_forward(ConvAlgo algo, const Conv2dGeometry& g, const float* input,
                    const float* weight, const float* bias, float* output,
                    float* columns = nullptr, bool relu = false);
void conv2d_backward(ConvAlgo algo, const Conv2dGeometry& g, const float* input,
                     const float* weight, const float* doutput, float* dinput, float* dweight,
                     float* dbias, const float* columns = nullptr,
                     const float* relu_output = nullptr);

// conv2d, ReLU and a 2x2 / stride 2 max pool as one: pooled [N, OC, OH/2, OW/2] and argmax (the
// index in the OH x OW plane, as maxpool2d_forward's); the values of the three kernels in turn.
// The implicit kernels pool in their epilogue and never write the full output; the others run
// the three kernels. Needs OH, OW >= 2.
void conv2d_relu_pool_forward(ConvAlgo algo, const Conv2dGeometry& g, const float* input,
                              const float* weight, const float* bias, float* pooled,
                              int32_t* argmax);
// Its backward from dpooled: the gradients of maxpool2d_backward, relu_backward and
// conv2d_backward in turn.
void conv2d_relu_pool_backward(ConvAlgo algo, const Conv2dGeometry& g, const float* input,
                               const float* weight, const float* pooled, const int32_t* argmax,
                               const float* dpooled, float* dinput, float* dweight, float* dbias);

}  // namespace tinycnn::kernels
