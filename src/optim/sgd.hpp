// SGD with momentum, Nesterov and L2 weight decay, as PyTorch defines it (dampening 0):
//   g = grad + wd * p;  buf = momentum * buf + g (buf = g on the first step);
//   p -= lr * (nesterov ? g + momentum * buf : buf)   (plain p -= lr * g when momentum = 0)
#pragma once

#include "optim/optimizer.hpp"

namespace tinycnn::optim {

struct SgdOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<NamedVariable> params, const SgdOptions& options);
  void step() override;
  std::vector<StateSlot> state() override;

 private:
  SgdOptions options_;
  std::vector<Tensor> momentum_;  // one per parameter, allocated when momentum > 0
};

}  // namespace tinycnn::optim
