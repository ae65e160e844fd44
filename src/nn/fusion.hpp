// Which layers of a Sequential run as one op: decided once, from the layer list, in this one
// place. The layers stay separate everywhere else (shapes, parameters, checkpoints, viz, the
// per-layer profile); a fused step computes the same values as its layers in turn.
//   conv2d + relu                      -> Conv2d::forward_relu (ReLU in the kernel's stores)
//   conv2d + relu + maxpool2d 2x2 / 2  -> Conv2d::forward_relu_pool2x2 (pooled in the epilogue)
//   residual + relu                    -> Residual::forward_relu (the add and the ReLU in one pass)
//   batchnorm + relu                   -> BatchNorm::forward_relu (normalise and ReLU in one pass)
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "nn/module.hpp"

namespace tinycnn::nn {

struct FusedStep {
  enum class Kind { Layer, ConvRelu, ConvReluPool, ResidualRelu, BatchNormRelu };
  Kind kind = Kind::Layer;
  size_t first = 0;  // index of the first layer
  size_t count = 1;  // layers it covers
};

std::vector<FusedStep> plan_fusion(const std::vector<std::unique_ptr<Module>>& layers);

}  // namespace tinycnn::nn
