// linear as an autograd op: input [N, in] x weight [out, in]^T + optional bias [out] -> [N, out].
#pragma once

#include "autograd/variable.hpp"
#include "kernels/precision.hpp"

namespace tinycnn::ops {

using autograd::Variable;

// precision: the products' (kernels/linear.hpp).
Variable linear(const Variable& input, const Variable& weight, const Variable& bias,
                kernels::Precision precision = kernels::Precision::Float32);

}  // namespace tinycnn::ops
