// Elementwise kernels; plain loops the compiler vectorises, split across threads when large.
#include "kernels/elementwise.hpp"

#include <cmath>

#include "kernels/parallel.hpp"

namespace tinycnn::kernels {

void relu_forward(int64_t n, const float* x, float* y) {
#pragma omp parallel for schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
void relu_backward(int64_t n, const float* y, const float* dy, float* dx) {
#pragma omp parallel for schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}
void tanh_forward(int64_t n, const float* x, float* y) {
#pragma omp parallel for schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}
void tanh_backward(int64_t n, const float* y, const float* dy, float* dx) {
#pragma omp parallel for schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}
void sigmoid_forward(int64_t n, const float* x, float* y) {
  // Split by sign so exp() never overflows.
#pragma omp parallel for schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) {
    if (x[i] >= 0.0f) {
      y[i] = 1.0f / (1.0f + std::exp(-x[i]));
    } else {
      const float e = std::exp(x[i]);
      y[i] = e / (1.0f + e);
    }
  }
}
void sigmoid_backward(int64_t n, const float* y, const float* dy, float* dx) {
#pragma omp parallel for schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}
void mask_multiply(int64_t n, const float* x, const float* mask, float* y) {
#pragma omp parallel for schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * mask[i];
}

}  // namespace tinycnn::kernels
