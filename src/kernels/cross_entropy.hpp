// Softmax cross-entropy over logits [N, K] with integer labels [N] (each in [0, K)), mean over
// the batch. Forward writes the softmax probabilities [N, K] (kept for backward) and returns the
// loss; it subtracts each row's max first, so large logits do not overflow.
// Backward: dlogits = (probs - onehot(labels)) * dloss / N, overwriting dlogits.
// Label smoothing s in [0, 1) (PyTorch's CrossEntropyLoss(label_smoothing=s)): the target is
// (1 - s) * onehot + s / K, so loss_i = (1 - s) * (-log p_y) + (s / K) * sum_j (-log p_j) and
// dlogits = (probs - target) * dloss / N; s = 0 is the plain loss, computed as before.
// predicted_class: the class a row of logits predicts (its arg-max, the first on ties).
#pragma once

#include <cstdint>

namespace tinycnn::kernels {

double softmax_cross_entropy_forward(int64_t n, int64_t k, const float* logits,
                                     const int32_t* labels, float* probs, float smoothing = 0.0f);
void softmax_cross_entropy_backward(int64_t n, int64_t k, const float* probs, const int32_t* labels,
                                    float dloss, float* dlogits, float smoothing = 0.0f);

// Index of the largest of k scores (the first on ties).
int64_t predicted_class(const float* scores, int64_t k);

}  // namespace tinycnn::kernels
