// An input that a backward only multiplies with (a convolution's or a linear layer's input), as
// its node keeps it: the tensor itself in float32; in bf16 its bfloat16 rounding, half the bytes.
// The bf16 kernels round their operands to bfloat16 anyway, and rounding is idempotent, so a
// backward fed the widened copy, or the bfloat16 values themselves, computes the same bits as
// one fed the float32 tensor.
#pragma once

#include <vector>

#include "kernels/bf16.hpp"
#include "kernels/precision.hpp"
#include "tensor/tensor.hpp"

namespace tinycnn::ops {

class SavedOperand {
 public:
  SavedOperand() = default;
  SavedOperand(const tensor::Tensor& values, kernels::Precision precision);

  // The values in float32: the tensor itself, or (bf16) a widened copy for the backward's time.
  tensor::Tensor values() const;
  // The values as kept, for kernels that read bfloat16 as it is (the convolution's backward).
  kernels::InputValues kept() const {
    if (float32_.defined()) return float32_.data();
    return bf16_.data();
  }

 private:
  tensor::Tensor float32_;
  tensor::Shape shape_;
  std::vector<kernels::Bfloat16> bf16_;
};

}  // namespace tinycnn::ops
