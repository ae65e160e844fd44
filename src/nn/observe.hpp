// A model's forward layer by layer, into residual blocks, nothing fused, with hooks around each
// layer: for the per-layer profile, the gradient check and the training diagnostics, which need
// to see (or time) what each layer does. The values are the same as forward()'s.
#pragma once

#include <functional>
#include <string>

#include "nn/sequential.hpp"

namespace tinycnn::nn {

struct ForwardHooks {
  // Before a layer runs (a block: before its layers), with its name ("layers.3.layers.0").
  std::function<void(const std::string& name, Module& layer)> before;
  // After it, with its input and output.
  std::function<void(const std::string& name, Module& layer, const Variable& input,
                     const Variable& output)>
      after;
};

// Layers [first, end) of `net` applied to `x`.
Variable forward_observed(Sequential& net, const Variable& x, const ForwardHooks& hooks,
                          size_t first = 0);

}  // namespace tinycnn::nn
