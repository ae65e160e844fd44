// Softmax cross-entropy loss (mean over the batch) of logits [N, K] against labels in [0, K).
#pragma once

#include <cstdint>
#include <vector>

#include "autograd/variable.hpp"

namespace tinycnn::ops {

using autograd::Variable;

// Returns a scalar Variable of shape [1].
Variable softmax_cross_entropy(const Variable& logits, const std::vector<int32_t>& labels);

}  // namespace tinycnn::ops
