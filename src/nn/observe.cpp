// The observed forward; see observe.hpp.
#include "nn/observe.hpp"

#include "nn/residual.hpp"
#include "ops/add.hpp"

namespace tinycnn::nn {

namespace {
Variable run_list(Sequential& list, const std::string& prefix, const Variable& x,
                  const ForwardHooks& hooks, size_t first);

Variable run_layer(Module& layer, const std::string& name, const Variable& x,
                   const ForwardHooks& hooks) {
  if (hooks.before) hooks.before(name, layer);
  Variable y;
  if (auto* block = dynamic_cast<Residual*>(&layer)) {
    const Variable main = run_list(block->main(), name + ".", x, hooks, 0);
    const Variable shortcut =
        block->shortcut().empty() ? x : run_list(block->shortcut(), name + ".", x, hooks, 0);
    y = ops::add(main, shortcut);
  } else {
    y = layer.forward(x);
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
