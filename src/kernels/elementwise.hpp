// Elementwise activations over n floats. Backward takes the forward OUTPUT y (enough for all
// three: relu' = [y > 0], tanh' = 1 - y^2, sigmoid' = y (1 - y)) and overwrites dx.
// mask_multiply serves dropout: y = x * mask, where the mask holds 0 or 1/(1-p).
#pragma once

#include <cstdint>

namespace tinycnn::kernels {

void relu_forward(int64_t n, const float* x, float* y);
void relu_backward(int64_t n, const float* y, const float* dy, float* dx);
void tanh_forward(int64_t n, const float* x, float* y);
void tanh_backward(int64_t n, const float* y, const float* dy, float* dx);
void sigmoid_forward(int64_t n, const float* x, float* y);
void sigmoid_backward(int64_t n, const float* y, const float* dy, float* dx);
void mask_multiply(int64_t n, const float* x, const float* mask, float* y);

}  // namespace tinycnn::kernels
