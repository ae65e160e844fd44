// reshape / flatten: views sharing the input's buffer; their gradient is the same reshaped view.
#pragma once

#include "autograd/variable.hpp"

namespace tinycnn::ops {

using autograd::Variable;

Variable reshape(const Variable& input, const tensor::Shape& shape);
// [N, d1, d2, ...] -> [N, d1*d2*...]
Variable flatten(const Variable& input);

}  // namespace tinycnn::ops
