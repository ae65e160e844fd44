// Group and layer normalisation as an autograd op over [N, C, ...], PyTorch's semantics
// (F.group_norm, F.layer_norm over all but the batch axis): each example's channels are split
// into `groups` groups of C / groups channels, and each group is normalised by its own mean and
// biased variance — in training and in eval alike, with no running statistics and nothing
// shared between examples (so nothing between the slices of a data-parallel step).
#pragma once

#include <cstdint>

#include "autograd/variable.hpp"

namespace tinycnn::ops {

using autograd::Variable;

struct GroupNormParams {
  int64_t groups = 1;
  double eps = 1e-5;
  // The affine weight / bias hold one value per element of an example (layernorm, shaped as the
  // example); otherwise one per channel (groupnorm, [C]).
  bool per_element = false;
};

// weight / bias may be undefined (affine = false). Throws when groups does not divide C or the
// affine parameters have another size.
Variable group_norm(const Variable& input, const Variable& weight, const Variable& bias,
                    const GroupNormParams& params);

}  // namespace tinycnn::ops
