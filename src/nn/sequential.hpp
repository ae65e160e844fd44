// Sequential: layers applied in order. Parameters are named "<prefix>.<index>.<name>" (prefix
// "layers" for a model: the checkpoint and PyTorch layout; a residual block's branches are
// Sequentials named "layers" and "shortcut"). output_shape() checks every layer and names the
// failing one. forward() runs the fusion plan (fusion.hpp), made once when first needed.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nn/fusion.hpp"
#include "nn/module.hpp"

namespace tinycnn::nn {

class Sequential : public Module {
 public:
  static constexpr const char* kClassName = "Sequential";
  static constexpr bool holds(LayerKind k) { return k == LayerKind::Sequential; }
  explicit Sequential(std::string prefix = "layers") : prefix_(std::move(prefix)) {}
  void add(std::unique_ptr<Module> layer);
  size_t size() const { return layers_.size(); }
  bool empty() const { return layers_.empty(); }
  Module& layer(size_t index) { return *layers_.at(index); }
  const Module& layer(size_t index) const { return *layers_.at(index); }
  const std::string& prefix() const { return prefix_; }

  LayerKind kind() const override { return LayerKind::Sequential; }
  // Throws core::Error "layer 3 (conv2d): ..." at the first layer that rejects its input.
  Shape output_shape(const Shape& input) const override;
  const std::vector<FusedStep>& plan();
  int64_t parameter_count() const override;
  std::vector<NamedVariable> parameters() override;
  std::vector<NamedBuffer> buffers() override;
  std::vector<NamedChild> children() override;
  void set_training(bool training) override;

 protected:
  Variable apply(const Variable& input, const StepContext& ctx) override;

 private:
  std::string prefix_;
  std::vector<std::unique_ptr<Module>> layers_;
  std::vector<FusedStep> plan_;
  bool planned_ = false;
};

}  // namespace tinycnn::nn
