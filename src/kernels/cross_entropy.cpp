// Numerically stable softmax cross-entropy: loss_i = logsumexp(z_i - max) - (z_i[y_i] - max).
#include "kernels/cross_entropy.hpp"

#include <algorithm>
#include <cmath>

namespace tinycnn::kernels {

double softmax_cross_entropy_forward(int64_t n, int64_t k, const float* logits,
                                     const int32_t* labels, float* probs) {
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const float* z = logits + i * k;
    float* p = probs + i * k;
    const float zmax = *std::max_element(z, z + k);
    double sum = 0.0;
    for (int64_t j = 0; j < k; ++j) {
      p[j] = std::exp(z[j] - zmax);
      sum += p[j];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t j = 0; j < k; ++j) p[j] *= inv;
    total += std::log(sum) - static_cast<double>(z[labels[i]] - zmax);
  }
  return total / static_cast<double>(n);
}

void softmax_cross_entropy_backward(int64_t n, int64_t k, const float* probs, const int32_t* labels,
                                    float dloss, float* dlogits) {
  const float scale = dloss / static_cast<float>(n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < k; ++j) dlogits[i * k + j] = probs[i * k + j] * scale;
    dlogits[i * k + labels[i]] -= scale;
  }
}

int64_t predicted_class(const float* scores, int64_t k) {
  return std::max_element(scores, scores + k) - scores;
}

}  // namespace tinycnn::kernels
