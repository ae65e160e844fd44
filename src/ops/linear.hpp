// linear as an autograd op: input [N, in] x weight [out, in]^T + optional bias [out] -> [N, out].
#pragma once

#include "autograd/variable.hpp"

namespace tinycnn::ops {

using autograd::Variable;

Variable linear(const Variable& input, const Variable& weight, const Variable& bias);

}  // namespace tinycnn::ops
