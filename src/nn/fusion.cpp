// The fusion plan; see fusion.hpp.
#include "nn/fusion.hpp"

#include <array>

#include "nn/pooling.hpp"

namespace tinycnn::nn {

namespace {
bool is_relu(const Module* m) { return m != nullptr && m->kind() == LayerKind::Relu; }
bool is_max_pool_2x2(const Module* m) {
  if (m == nullptr || m->kind() != LayerKind::MaxPool2d) return false;
  const auto& p = static_cast<const Pool2d&>(*m);
  using Pair = std::array<int64_t, 2>;
  return p.kernel_size() == Pair{2, 2} && p.stride() == Pair{2, 2} && p.padding() == Pair{0, 0};
}

// The fused step that starts with `first` followed by `next` and `after` (either may be null).
FusedStep::Kind fused_kind(const Module& first, const Module* next, const Module* after) {
  if (!is_relu(next)) return FusedStep::Kind::Layer;
  switch (first.kind()) {
    case LayerKind::Conv2d:
      return is_max_pool_2x2(after) ? FusedStep::Kind::ConvReluPool : FusedStep::Kind::ConvRelu;
    case LayerKind::Residual:
      return FusedStep::Kind::ResidualRelu;
    case LayerKind::BatchNorm2d:
    case LayerKind::BatchNorm1d:
      return FusedStep::Kind::BatchNormRelu;
    case LayerKind::LayerNorm:
    case LayerKind::GroupNorm:
    case LayerKind::Sequential:
    case LayerKind::Linear:
    case LayerKind::MaxPool2d:
    case LayerKind::AvgPool2d:
    case LayerKind::GlobalAvgPool2d:
    case LayerKind::Flatten:
    case LayerKind::Relu:
    case LayerKind::Tanh:
    case LayerKind::Sigmoid:
    case LayerKind::Dropout:
    case LayerKind::Custom:
      return FusedStep::Kind::Layer;
  }
  return FusedStep::Kind::Layer;
}

size_t layers_covered(FusedStep::Kind kind) {
  switch (kind) {
    case FusedStep::Kind::Layer:
      return 1;
    case FusedStep::Kind::ConvRelu:
    case FusedStep::Kind::ResidualRelu:
    case FusedStep::Kind::BatchNormRelu:
      return 2;
    case FusedStep::Kind::ConvReluPool:
      return 3;
  }
  return 1;
}
}  // namespace

std::vector<FusedStep> plan_fusion(const std::vector<std::unique_ptr<Module>>& layers) {
  auto at = [&](size_t i) { return i < layers.size() ? layers[i].get() : nullptr; };
  std::vector<FusedStep> plan;
  for (size_t i = 0; i < layers.size();) {
    const FusedStep::Kind kind = fused_kind(*layers[i], at(i + 1), at(i + 2));
    const FusedStep step{.kind = kind, .first = i, .count = layers_covered(kind)};
    plan.push_back(step);
    i += step.count;
  }
  return plan;
}

}  // namespace tinycnn::nn
