// Softmax cross-entropy over logits [N, K] with integer labels [N] (each in [0, K)), mean over
// the batch. Forward writes the softmax probabilities [N, K] (kept for backward) and returns the
// loss; it subtracts each row's max first, so large logits do not overflow.
// Backward: dlogits = (probs - onehot(labels)) * dloss / N, overwriting dlogits.
// Label smoothing s in [0, 1) (PyTorch's CrossEntropyLoss(label_smoothing=s)): the target is
// (1 - s) * onehot + s / K, so loss_i = (1 - s) * (-log p_y) + (s / K) * sum_j (-log p_j) and
// dlogits = (probs - target) * dloss / N; s = 0 is the plain loss, computed as before.
// Mixed targets (mixup / CutMix; `other` and `lambda` non-null): example i's target is
// lambda[i] on labels[i] and 1 - lambda[i] on other[i], each smoothed as above, so loss_i =
// lambda_i * loss(labels_i) + (1 - lambda_i) * loss(other_i) (the loss is linear in the target).
// predicted_class: the class a row of logits predicts (its arg-max, the first on ties).
#pragma once

#include <cstdint>

namespace tinycnn::kernels {

// Example i's target: weight lambda[i] on labels[i], the rest on other[i] (both null: the label
// alone).
struct MixedTargets {
  const int32_t* other = nullptr;
  const float* lambda = nullptr;
};

double softmax_cross_entropy_forward(int64_t n, int64_t k, const float* logits,
                                     const int32_t* labels, float* probs, float smoothing = 0.0f,
                                     MixedTargets mixed = {});
void softmax_cross_entropy_backward(int64_t n, int64_t k, const float* probs, const int32_t* labels,
                                    float dloss, float* dlogits, float smoothing = 0.0f,
                                    MixedTargets mixed = {});

// Index of the largest of k scores (the first on ties).
int64_t predicted_class(const float* scores, int64_t k);

}  // namespace tinycnn::kernels
