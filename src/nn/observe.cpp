// The observed forward; see observe.hpp.
#include "nn/observe.hpp"

#include "nn/residual.hpp"
#include "ops/add.hpp"

namespace tinycnn::nn {

namespace {
Variable run_list(Sequential& list, const std::string& prefix, const Variable& x,
                  const ForwardHooks& hooks, size_t first);

// A residual block's branches are walked into; every other layer runs as itself.
Variable run_layer(Module& layer, const std::string& name, const Variable& x,
                   const ForwardHooks& hooks) {
  if (hooks.before) hooks.before(name, layer);
  Variable y;
  switch (layer.kind()) {
    case LayerKind::Residual: {
      auto& block = static_cast<Residual&>(layer);
      const Variable main = run_list(block.main(), name + ".", x, hooks, 0);
      const Variable shortcut =
          block.shortcut().empty() ? x : run_list(block.shortcut(), name + ".", x, hooks, 0);
      y = ops::add(main, shortcut);
      break;
    }
    case LayerKind::Sequential:
      y = run_list(static_cast<Sequential&>(layer), name + ".", x, hooks, 0);
      break;
    case LayerKind::Conv2d:
    case LayerKind::Linear:
    case LayerKind::MaxPool2d:
    case LayerKind::AvgPool2d:
    case LayerKind::GlobalAvgPool2d:
    case LayerKind::Flatten:
    case LayerKind::Relu:
    case LayerKind::Tanh:
    case LayerKind::Sigmoid:
    case LayerKind::Dropout:
    case LayerKind::BatchNorm2d:
    case LayerKind::BatchNorm1d:
    case LayerKind::LayerNorm:
    case LayerKind::GroupNorm:
    case LayerKind::Custom:
      y = layer.forward(x);
      break;
  }
  if (hooks.after) hooks.after(name, layer, x, y);
  return y;
}

Variable run_list(Sequential& list, const std::string& prefix, const Variable& x,
                  const ForwardHooks& hooks, size_t first) {
  Variable y = x;
  for (size_t i = first; i < list.size(); ++i) {
    y = run_layer(list.layer(i), prefix + list.prefix() + "." + std::to_string(i), y, hooks);
  }
  return y;
}
}  // namespace

Variable forward_observed(Sequential& net, const Variable& x, const ForwardHooks& hooks,
                          size_t first) {
  return run_list(net, "", x, hooks, first);
}

}  // namespace tinycnn::nn
