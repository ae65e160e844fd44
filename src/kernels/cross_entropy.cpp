// Numerically stable softmax cross-entropy: loss_i = logsumexp(z_i - max) - (z_i[y_i] - max);
// with label smoothing s, -log p_j = logsumexp - (z_j - max) for every class j as well.
#include "kernels/cross_entropy.hpp"

#include <algorithm>
#include <cmath>

namespace tinycnn::kernels {

double softmax_cross_entropy_forward(int64_t n, int64_t k, const float* logits,
                                     const int32_t* labels, float* probs, float smoothing,
                                     MixedTargets mixed) {
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
    const double log_sum = std::log(sum);
    double nll = log_sum - static_cast<double>(z[labels[i]] - zmax);
    if (mixed.lambda) {  // lambda * nll(label) + (1 - lambda) * nll(other)
      const double other = log_sum - static_cast<double>(z[mixed.other[i]] - zmax);
      nll = mixed.lambda[i] * nll + (1.0 - mixed.lambda[i]) * other;
    }
    if (smoothing == 0.0f) {
      total += nll;
      continue;
    }
    double all = 0.0;  // sum_j -log p_j
    for (int64_t j = 0; j < k; ++j) all += log_sum - static_cast<double>(z[j] - zmax);
    total += (1.0 - smoothing) * nll + smoothing * all / static_cast<double>(k);
  }
  return total / static_cast<double>(n);
}

void softmax_cross_entropy_backward(int64_t n, int64_t k, const float* probs, const int32_t* labels,
                                    float dloss, float* dlogits, float smoothing,
                                    MixedTargets mixed) {
  const float scale = dloss / static_cast<float>(n);
  if (mixed.lambda) {  // target = (1 - s) * (lambda onehot(label) + (1 - lambda) onehot(other)) +
                       // s/K
    const float spread = smoothing / static_cast<float>(k);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < k; ++j) dlogits[i * k + j] = (probs[i * k + j] - spread) * scale;
      dlogits[i * k + labels[i]] -= (1.0f - smoothing) * mixed.lambda[i] * scale;
      dlogits[i * k + mixed.other[i]] -= (1.0f - smoothing) * (1.0f - mixed.lambda[i]) * scale;
    }
    return;
  }
  if (smoothing == 0.0f) {
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < k; ++j) dlogits[i * k + j] = probs[i * k + j] * scale;
      dlogits[i * k + labels[i]] -= scale;
    }
    return;
  }
  const float spread = smoothing / static_cast<float>(k);  // every class's share of the target
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < k; ++j) dlogits[i * k + j] = (probs[i * k + j] - spread) * scale;
    dlogits[i * k + labels[i]] -= (1.0f - smoothing) * scale;
  }
}

int64_t predicted_class(const float* scores, int64_t k) {
  return std::max_element(scores, scores + k) - scores;
}

}  // namespace tinycnn::kernels
