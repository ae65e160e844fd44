// SGD update.
#include "optim/sgd.hpp"

#include <omp.h>

#include "core/block.hpp"
#include "core/error.hpp"
#include "runtime/team.hpp"

namespace tinycnn::optim {

namespace {}  // namespace

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

namespace {
// One parameter tensor's update over [begin, end). Each case its own loop over plain locals, so
// it vectorises (with the conditions inside one loop of an OpenMP-outlined body the compiler
// keeps them per element).
void update(float* p, const float* grad, float* buf, int64_t begin, int64_t end, float lr, float mu,
            float wd, bool first, bool nesterov) {
  if (!buf) {
    for (int64_t j = begin; j < end; ++j) p[j] -= lr * (grad[j] + wd * p[j]);
  } else if (first) {
    for (int64_t j = begin; j < end; ++j) {
      const float g = grad[j] + wd * p[j];
      buf[j] = g;
      p[j] -= lr * (nesterov ? g + mu * g : g);
    }
  } else if (nesterov) {
    for (int64_t j = begin; j < end; ++j) {
      const float g = grad[j] + wd * p[j];
      const float b = mu * buf[j] + g;
      buf[j] = b;
      p[j] -= lr * (g + mu * b);
    }
  } else {
    for (int64_t j = begin; j < end; ++j) {
      const float g = grad[j] + wd * p[j];
      const float b = mu * buf[j] + g;
      buf[j] = b;
      p[j] -= lr * b;
    }
  }
}
}  // namespace

void SGD::step() {
  const float lr = static_cast<float>(lr_);
  const float mu = static_cast<float>(options_.momentum);
  const float wd = static_cast<float>(options_.weight_decay);
  const bool first = step_count_ == 0;
  const bool nesterov = options_.nesterov;
  // Elementwise, so any split across threads gives the same bits: the small tensors on thread
  // 0, each large one in blocks across the threads, all in one job.
  int64_t large = 0;
  for (const auto& param : params_) {
    if (param.var.grad().defined() && param.var.data().numel() >= core::kParallelMinElements)
      ++large;
  }
  runtime::parallel(
      large > 0 ? omp_get_max_threads() : 1,
      [&](const runtime::Crew& crew) {
        for (size_t i = 0; i < params_.size(); ++i) {
          auto& var = params_[i].var;
          if (!var.grad().defined()) continue;
          float* p = var.data().data();
          const float* grad = var.grad().data();
          float* buf = momentum_.empty() ? nullptr : momentum_[i].data();
          const int64_t n = var.data().numel();
          if (n < core::kParallelMinElements) {
            if (crew.thread == 0) update(p, grad, buf, 0, n, lr, mu, wd, first, nesterov);
            continue;
          }
          const core::Block b = core::block(n, crew.thread, crew.size);
          update(p, grad, buf, b.begin, b.end, lr, mu, wd, first, nesterov);
        }
      },
      runtime::Split::Free);
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
