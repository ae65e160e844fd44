// A saved multiplicand; see saved_operand.hpp.
#include "ops/saved_operand.hpp"

namespace tinycnn::ops {

SavedOperand::SavedOperand(const tensor::Tensor& values, kernels::Precision precision) {
  if (precision == kernels::Precision::Float32) {
    float32_ = values;
    return;
  }
  shape_ = values.shape();
  bf16_.resize(static_cast<size_t>(values.numel()));
  kernels::to_bf16(values.data(), values.numel(), bf16_.data());
}

tensor::Tensor SavedOperand::values() const {
  if (float32_.defined()) return float32_;
  tensor::Tensor widened = tensor::Tensor::empty(shape_);
  kernels::from_bf16(bf16_.data(), widened.numel(), widened.data());
  return widened;
}

}  // namespace tinycnn::ops
