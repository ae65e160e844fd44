// The module tree walk.
#include "nn/module.hpp"

namespace tinycnn::nn {

namespace {
void walk_from(Module& m, const std::string& prefix, int depth,
               const std::function<void(const std::string&, Module&, int)>& visit) {
  for (const NamedChild& child : m.children()) {
    const std::string name = prefix.empty() ? child.name : prefix + "." + child.name;
    visit(name, *child.module, depth);
    walk_from(*child.module, name, depth + 1, visit);
  }
}
}  // namespace

void walk(Module& root,
          const std::function<void(const std::string& name, Module& layer, int depth)>& visit) {
  walk_from(root, "", 0, visit);
}

}  // namespace tinycnn::nn
