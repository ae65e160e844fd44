// What a node's backward allocates and hands its kernel: per input, an uninitialised tensor of
// its shape where the input requires grad, else an undefined tensor — a gradient the kernel
// skips, as data_or_null() passes it on as a null pointer.
#pragma once

#include <vector>

#include "autograd/variable.hpp"

namespace tinycnn::ops {

inline std::vector<tensor::Tensor> gradient_buffers(const std::vector<autograd::Edge>& inputs) {
  std::vector<tensor::Tensor> buffers;
  buffers.reserve(inputs.size());
  for (const auto& in : inputs) {
    buffers.push_back(in.requires_grad() ? tensor::Tensor::empty(in.shape()) : tensor::Tensor());
  }
  return buffers;
}

inline float* data_or_null(tensor::Tensor& t) { return t.defined() ? t.data() : nullptr; }
inline const float* data_or_null(const tensor::Tensor& t) {
  return t.defined() ? t.data() : nullptr;
}

}  // namespace tinycnn::ops
