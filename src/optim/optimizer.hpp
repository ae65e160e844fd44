// Optimizer: updates named Variables from their gradients. Knows nothing of modules.
// state() exposes every slot (e.g. "layers.0.weight.momentum") so a checkpoint can save and
// restore it; step_count() is Adam's bias-correction clock (and informational for SGD).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "autograd/variable.hpp"

namespace tinycnn::optim {

using autograd::NamedVariable;
using tensor::Tensor;

struct StateSlot {
  std::string name;  // "<param name>.<slot>"
  Tensor* tensor;
};

class Optimizer {
 public:
  explicit Optimizer(std::vector<NamedVariable> params);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update from the current gradients; parameters without a gradient are left alone.
  virtual void step() = 0;
  void zero_grad();

  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  int64_t step_count() const { return step_count_; }
  void set_step_count(int64_t steps) { step_count_ = steps; }
  virtual std::vector<StateSlot> state() = 0;

 protected:
  std::vector<NamedVariable> params_;
  double lr_ = 0.0;
  int64_t step_count_ = 0;
};

}  // namespace tinycnn::optim
