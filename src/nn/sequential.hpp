// Sequential: layers applied in order. Parameters are named "layers.<index>.<name>", the
// checkpoint and PyTorch layout. output_shape() checks every layer and names the failing one.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "nn/module.hpp"

namespace tinycnn::nn {

class Sequential : public Module {
 public:
  void add(std::unique_ptr<Module> layer) { layers_.push_back(std::move(layer)); }
  size_t size() const { return layers_.size(); }
  Module& layer(size_t index) { return *layers_.at(index); }
  const Module& layer(size_t index) const { return *layers_.at(index); }

  std::string type() const override { return "sequential"; }
  // Throws core::Error "layer 3 (conv2d): ..." at the first layer that rejects its input.
  Shape output_shape(const Shape& input) const override;
  Variable forward(const Variable& input) override;
  // Layer by layer (nothing fused), `visit(index, output)` after each: what a layer computed,
  // for pictures and diagnostics.
  Variable forward_visiting(const Variable& input,
                            const std::function<void(size_t, const Variable&)>& visit);
  std::vector<NamedVariable> parameters() override;
  void set_training(bool training) override;

 private:
  std::vector<std::unique_ptr<Module>> layers_;
};

}  // namespace tinycnn::nn
