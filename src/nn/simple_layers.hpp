// Parameter-free layers: Flatten, ReLU, Tanh, Sigmoid, Dropout.
#pragma once

#include <cstdint>

#include "core/rng.hpp"
#include "nn/module.hpp"

namespace tinycnn::nn {

// [C, H, W] -> [C*H*W]; a view, no copy.
class Flatten : public Module {
 public:
  std::string type() const override { return "flatten"; }
  Shape output_shape(const Shape& input) const override;
  Variable forward(const Variable& input) override;
};

class Activation : public Module {
 public:
  enum class Kind { Relu, Tanh, Sigmoid };
  explicit Activation(Kind kind) : kind_(kind) {}
  std::string type() const override;
  Shape output_shape(const Shape& input) const override { return input; }
  Variable forward(const Variable& input) override;
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct DropoutOptions {
  float p = 0.5f;     // probability of zeroing an element, in [0, 1)
  uint64_t seed = 0;  // the layer's own mask stream
};

// Active only in training mode; the identity in evaluation.
class Dropout : public Module {
 public:
  explicit Dropout(const DropoutOptions& options);
  std::string type() const override { return "dropout"; }
  std::string describe() const override;
  Shape output_shape(const Shape& input) const override { return input; }
  Variable forward(const Variable& input) override;

 private:
  DropoutOptions options_;
  core::Rng rng_;
};

}  // namespace tinycnn::nn
