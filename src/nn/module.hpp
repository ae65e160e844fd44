// Module: one layer of a network. output_shape() validates an input shape (per example, without
// the batch: [C, H, W] or [F]) and says what comes out, so a bad model fails at build time.
// forward() takes the batched input. parameters() names the layer's own Variables ("weight").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "autograd/variable.hpp"

namespace tinycnn::nn {

using autograd::NamedVariable;
using autograd::Variable;
using tensor::Shape;
using tensor::Tensor;

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual std::string type() const = 0;                    // "conv2d", the config's name
  virtual std::string describe() const { return type(); }  // with hyperparameters
  virtual Shape output_shape(const Shape& input) const = 0;
  virtual Variable forward(const Variable& input) = 0;
  virtual std::vector<NamedVariable> parameters() { return {}; }
  // How many parameter values the layer has, from its options (known without the weights).
  virtual int64_t parameter_count() const { return 0; }
  virtual void set_training(bool training) { training_ = training; }
  bool training() const { return training_; }

 private:
  bool training_ = true;
};

}  // namespace tinycnn::nn
