// Residual block.
#include "nn/residual.hpp"

#include "core/error.hpp"
#include "ops/add.hpp"

namespace tinycnn::nn {

Residual::Residual() : main_("layers"), shortcut_("shortcut") {}

std::string Residual::describe() const {
  return "residual(" + std::to_string(main_.size()) + " layers, " +
         (shortcut_.empty() ? std::string("identity shortcut")
                            : std::to_string(shortcut_.size()) + "-layer shortcut") +
         ")";
}

Shape Residual::output_shape(const Shape& input) const {
  Shape main = main_.output_shape(input);
  const Shape shortcut = shortcut_.output_shape(input);
  TCNN_CHECK(main == shortcut, "residual: the layers give ", main.to_string(), " and the ",
             shortcut_.empty() ? "identity shortcut " : "shortcut ", shortcut.to_string(),
             "; they must match");
  return main;
}

Variable Residual::run(const Variable& input, bool relu, const StepContext& ctx) {
  const Variable main = main_.forward(input, ctx);
  const Variable shortcut = shortcut_.empty() ? input : shortcut_.forward(input, ctx);
  return ops::add(main, shortcut, relu);
}

Variable Residual::apply(const Variable& input, const StepContext& ctx) {
  return run(input, false, ctx);
}
Variable Residual::forward_relu(const Variable& input, const StepContext& ctx) {
  return run(input, true, ctx);
}

int64_t Residual::parameter_count() const {
  return main_.parameter_count() + shortcut_.parameter_count();
}

std::vector<NamedVariable> Residual::parameters() {
  std::vector<NamedVariable> out = main_.parameters();
  for (auto& p : shortcut_.parameters()) out.push_back(std::move(p));
  return out;
}

std::vector<NamedBuffer> Residual::buffers() {
  std::vector<NamedBuffer> out = main_.buffers();
  for (auto& b : shortcut_.buffers()) out.push_back(std::move(b));
  return out;
}

std::vector<NamedChild> Residual::children() {
  std::vector<NamedChild> out = main_.children();
  for (auto& c : shortcut_.children()) out.push_back(std::move(c));
  return out;
}

void Residual::set_training(bool training) {
  Module::set_training(training);
  main_.set_training(training);
  shortcut_.set_training(training);
}

}  // namespace tinycnn::nn
