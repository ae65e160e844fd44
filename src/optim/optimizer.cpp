// Shared optimizer bookkeeping.
#include "optim/optimizer.hpp"

namespace tinycnn::optim {

Optimizer::Optimizer(std::vector<NamedVariable> params) : params_(std::move(params)) {}

void Optimizer::zero_grad() {
  for (auto& p : params_) p.var.zero_grad();
}

}  // namespace tinycnn::optim
