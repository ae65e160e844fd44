// Elementwise sum of two values of the same shape (a residual block's branches).
#pragma once

#include "autograd/variable.hpp"

namespace tinycnn::ops {

// a + b; the shapes must match. With `relu`, max(a + b, 0) in the same pass.
autograd::Variable add(const autograd::Variable& a, const autograd::Variable& b, bool relu = false);

}  // namespace tinycnn::ops
