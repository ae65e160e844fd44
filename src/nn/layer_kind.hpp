// The closed set of layer kinds. Code that must treat kinds differently switches on
// Module::kind() with no default branch, so that adding a kind here makes the compiler
// (-Wswitch, an error in CI) list every place that must learn it: the registry, the fusion
// plan, the observed forward, the cost table, the double-precision forward, the ONNX export.
// docs/design.md, "Adding a layer kind", walks through them.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace tinycnn::nn {

// In the order the config's error messages list them.
enum class LayerKind {
  Conv2d,
  MaxPool2d,
  AvgPool2d,
  GlobalAvgPool2d,
  Linear,
  BatchNorm2d,
  BatchNorm1d,
  LayerNorm,
  GroupNorm,
  Residual,
  Flatten,
  Relu,
  Tanh,
  Sigmoid,
  Dropout,
  Sequential,  // a list of layers (a model, a block's branch); no config form of its own
  // A layer defined outside the library (a test's own): it has a forward and nothing else
  // knows it; each switch says what it does with one (run it in float, refuse it by name).
  Custom,
};

// The config's name of each kind ("conv2d"), in the enum's order.
inline constexpr std::array<std::string_view, 17> kLayerKindNames{
    "conv2d",      "maxpool2d", "avgpool2d", "global_avgpool2d", "linear",  "batchnorm2d",
    "batchnorm1d", "layernorm", "groupnorm", "residual",         "flatten", "relu",
    "tanh",        "sigmoid",   "dropout",   "sequential",       "custom"};
static_assert(kLayerKindNames.size() == static_cast<size_t>(LayerKind::Custom) + 1,
              "a layer kind without a name");

constexpr std::string_view name_of(LayerKind kind) {
  return kLayerKindNames[static_cast<size_t>(kind)];
}

}  // namespace tinycnn::nn
