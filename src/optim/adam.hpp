// Adam with bias correction and L2 weight decay (PyTorch's Adam, not AdamW):
//   g = grad + wd * p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  t += 1
//   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
#pragma once

#include "optim/optimizer.hpp"

namespace tinycnn::optim {

struct AdamOptions {
  double lr = 0.001;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<NamedVariable> params, const AdamOptions& options);
  void step() override;
  std::vector<StateSlot> state() override;

 private:
  AdamOptions options_;
  std::vector<Tensor> m_;
  std::vector<Tensor> v_;
};

}  // namespace tinycnn::optim
