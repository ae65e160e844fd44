// The fusion plan; see fusion.hpp.
#include "nn/fusion.hpp"

#include <array>

#include "nn/batchnorm.hpp"
#include "nn/conv2d.hpp"
#include "nn/pooling.hpp"
#include "nn/residual.hpp"
#include "nn/simple_layers.hpp"

namespace tinycnn::nn {

namespace {
bool is_relu(const Module* m) {
  const auto* a = dynamic_cast<const Activation*>(m);
  return a && a->kind() == Activation::Kind::Relu;
}
bool is_max_pool_2x2(const Module* m) {
  const auto* p = dynamic_cast<const MaxPool2d*>(m);
  using Pair = std::array<int64_t, 2>;
  return p && p->kernel_size() == Pair{2, 2} && p->stride() == Pair{2, 2} &&
         p->padding() == Pair{0, 0};
}
}  // namespace

std::vector<FusedStep> plan_fusion(const std::vector<std::unique_ptr<Module>>& layers) {
  auto at = [&](size_t i) { return i < layers.size() ? layers[i].get() : nullptr; };
  std::vector<FusedStep> plan;
  for (size_t i = 0; i < layers.size();) {
    FusedStep step{.kind = FusedStep::Kind::Layer, .first = i, .count = 1};
    if (dynamic_cast<const Conv2d*>(at(i)) && is_relu(at(i + 1))) {
      step = is_max_pool_2x2(at(i + 2)) ? FusedStep{FusedStep::Kind::ConvReluPool, i, 3}
                                        : FusedStep{FusedStep::Kind::ConvRelu, i, 2};
    } else if (dynamic_cast<const Residual*>(at(i)) && is_relu(at(i + 1))) {
      step = FusedStep{FusedStep::Kind::ResidualRelu, i, 2};
    } else if (dynamic_cast<const BatchNorm*>(at(i)) && is_relu(at(i + 1))) {
      step = FusedStep{FusedStep::Kind::BatchNormRelu, i, 2};
    }
    plan.push_back(step);
    i += step.count;
  }
  return plan;
}

}  // namespace tinycnn::nn
