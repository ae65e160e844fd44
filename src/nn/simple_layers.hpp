// Parameter-free layers: Flatten, ReLU, Tanh, Sigmoid, Dropout.
#pragma once

#include <cstdint>

#include "core/rng.hpp"
#include "nn/module.hpp"

namespace tinycnn::nn {

// [C, H, W] -> [C*H*W]; a view, no copy.
class Flatten : public Module {
 public:
  static constexpr const char* kClassName = "Flatten";
  static constexpr bool holds(LayerKind k) { return k == LayerKind::Flatten; }
  LayerKind kind() const override { return LayerKind::Flatten; }
  Shape output_shape(const Shape& input) const override;

 protected:
  Variable apply(const Variable& input, const StepContext& ctx) override;
};

class Activation : public Module {
 public:
  static constexpr const char* kClassName = "Activation";
  static constexpr bool holds(LayerKind k) {
    return k == LayerKind::Relu || k == LayerKind::Tanh || k == LayerKind::Sigmoid;
  }
  using Kind = LayerKind;  // Relu, Tanh or Sigmoid
  explicit Activation(LayerKind kind);
  LayerKind kind() const override { return kind_; }
  Shape output_shape(const Shape& input) const override { return input; }

 protected:
  Variable apply(const Variable& input, const StepContext& ctx) override;

 private:
  LayerKind kind_;
};

struct DropoutOptions {
  float p = 0.5f;     // probability of zeroing an element, in [0, 1)
  uint64_t seed = 0;  // the layer's own mask stream
};

// Active only in training mode; the identity in evaluation.
class Dropout : public Module {
 public:
  static constexpr const char* kClassName = "Dropout";
  static constexpr bool holds(LayerKind k) { return k == LayerKind::Dropout; }
  explicit Dropout(const DropoutOptions& options);
  LayerKind kind() const override { return LayerKind::Dropout; }
  std::string describe() const override;
  Shape output_shape(const Shape& input) const override { return input; }

 protected:
  Variable apply(const Variable& input, const StepContext& ctx) override;

 private:
  DropoutOptions options_;
  core::Rng rng_;
};

}  // namespace tinycnn::nn
