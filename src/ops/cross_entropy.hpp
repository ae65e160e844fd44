// Softmax cross-entropy loss (mean over the batch) of logits [N, K] against labels in [0, K),
// with optional label smoothing in [0, 1) (kernels/cross_entropy.hpp).
#pragma once

#include <cstdint>
#include <vector>

#include "autograd/variable.hpp"

namespace tinycnn::ops {

using autograd::Variable;

// Returns a scalar Variable of shape [1].
Variable softmax_cross_entropy(const Variable& logits, const std::vector<int32_t>& labels,
                               float label_smoothing = 0.0f);

}  // namespace tinycnn::ops
