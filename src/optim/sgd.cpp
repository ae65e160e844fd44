// SGD update.
#include "optim/sgd.hpp"

#include "core/error.hpp"

namespace tinycnn::optim {

namespace {
constexpr int64_t kParallelMin = int64_t{1} << 15;  // below, one thread is faster
}  // namespace

SGD::SGD(std::vector<NamedVariable> params, const SgdOptions& options)
    : Optimizer(std::move(params)), options_(options) {
  TCNN_CHECK(options.lr >= 0.0, "sgd: expected lr >= 0, got ", options.lr);
  TCNN_CHECK(options.momentum >= 0.0, "sgd: expected momentum >= 0, got ", options.momentum);
  TCNN_CHECK(options.weight_decay >= 0.0, "sgd: expected weight_decay >= 0, got ",
             options.weight_decay);
  TCNN_CHECK(!options.nesterov || options.momentum > 0.0, "sgd: nesterov needs momentum > 0");
  lr_ = options.lr;
  if (options.momentum > 0.0) {
    for (auto& p : params_) momentum_.push_back(Tensor::zeros(p.var.shape()));
  }
}

void SGD::step() {
  const float lr = static_cast<float>(lr_);
  const float mu = static_cast<float>(options_.momentum);
  const float wd = static_cast<float>(options_.weight_decay);
  const bool first = step_count_ == 0;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& var = params_[i].var;
    if (!var.grad().defined()) continue;
    float* p = var.data().data();
    const float* grad = var.grad().data();
    float* buf = momentum_.empty() ? nullptr : momentum_[i].data();
    const int64_t n = var.data().numel();
    // Elementwise, so any split across threads gives the same bits. The conditions are loop
    // invariant: the compiler unswitches them and vectorises each case.
    const bool nesterov = options_.nesterov;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t j = 0; j < n; ++j) {
      float g = grad[j] + wd * p[j];
      if (buf) {
        buf[j] = first ? g : mu * buf[j] + g;
        g = nesterov ? g + mu * buf[j] : buf[j];
      }
      p[j] -= lr * g;
    }
  }
  ++step_count_;
}

std::vector<StateSlot> SGD::state() {
  std::vector<StateSlot> slots;
  for (size_t i = 0; i < momentum_.size(); ++i) {
    slots.push_back({params_[i].name + ".momentum", &momentum_[i]});
  }
  return slots;
}

}  // namespace tinycnn::optim
