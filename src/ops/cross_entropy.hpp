// Softmax cross-entropy loss (mean over the batch) of logits [N, K] against labels in [0, K),
// with optional label smoothing in [0, 1) and mixed targets (kernels/cross_entropy.hpp).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "autograd/variable.hpp"

namespace tinycnn::ops {

using autograd::Variable;

// Returns a scalar Variable of shape [1]. `other` and `lambda` (both empty, or N entries each):
// mixed targets (mixup / CutMix), lambda[i] in [0, 1] on labels[i] and the rest on other[i].
Variable softmax_cross_entropy(const Variable& logits, const std::vector<int32_t>& labels,
                               float label_smoothing = 0.0f, std::span<const int32_t> other = {},
                               std::span<const float> lambda = {});

}  // namespace tinycnn::ops
