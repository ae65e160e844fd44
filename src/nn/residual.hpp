// A residual block: output = layers(x) + shortcut(x), the shortcut the identity when it has no
// layers. Its parameters are named "layers.<j>.…" and "shortcut.<j>.…" (PyTorch: a module with
// two nn.Sequential attributes). Blocks nest: a branch may hold blocks.
#pragma once

#include <memory>

#include "nn/sequential.hpp"

namespace tinycnn::nn {

class Residual : public Module {
 public:
  static constexpr const char* kClassName = "Residual";
  static constexpr bool holds(LayerKind k) { return k == LayerKind::Residual; }
  Residual();  // both branches empty until layers are added to them
  Sequential& main() { return main_; }
  Sequential& shortcut() { return shortcut_; }
  const Sequential& main() const { return main_; }
  const Sequential& shortcut() const { return shortcut_; }

  LayerKind kind() const override { return LayerKind::Residual; }
  std::string describe() const override;
  // Throws when the branches' output shapes differ, naming both.
  Shape output_shape(const Shape& input) const override;
  // max(forward(input), 0) with the ReLU in the add's pass.
  Variable forward_relu(const Variable& input, const StepContext& ctx);
  int64_t parameter_count() const override;
  std::vector<NamedVariable> parameters() override;
  std::vector<NamedBuffer> buffers() override;
  std::vector<NamedChild> children() override;
  void set_training(bool training) override;

 protected:
  Variable apply(const Variable& input, const StepContext& ctx) override;

 private:
  Variable run(const Variable& input, bool relu, const StepContext& ctx);
  Sequential main_;
  Sequential shortcut_;
};

}  // namespace tinycnn::nn
