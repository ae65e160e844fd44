// Adam update.
#include "optim/adam.hpp"

#include <cmath>

#include "core/error.hpp"

namespace tinycnn::optim {

Adam::Adam(std::vector<NamedVariable> params, const AdamOptions& options)
    : Optimizer(std::move(params)), options_(options) {
  TCNN_CHECK(options.lr >= 0.0, "adam: expected lr >= 0, got ", options.lr);
  TCNN_CHECK(options.beta1 >= 0.0 && options.beta1 < 1.0, "adam: expected beta1 in [0, 1), got ",
             options.beta1);
  TCNN_CHECK(options.beta2 >= 0.0 && options.beta2 < 1.0, "adam: expected beta2 in [0, 1), got ",
             options.beta2);
  TCNN_CHECK(options.eps > 0.0, "adam: expected eps > 0, got ", options.eps);
  TCNN_CHECK(options.weight_decay >= 0.0, "adam: expected weight_decay >= 0, got ",
             options.weight_decay);
  lr_ = options.lr;
  for (auto& p : params_) {
    m_.push_back(Tensor::zeros(p.var.shape()));
    v_.push_back(Tensor::zeros(p.var.shape()));
  }
}

void Adam::step() {
  ++step_count_;
  const double t = static_cast<double>(step_count_);
  const float b1 = static_cast<float>(options_.beta1);
  const float b2 = static_cast<float>(options_.beta2);
  const float wd = static_cast<float>(options_.weight_decay);
  const float eps = static_cast<float>(options_.eps);
  const float step_size = static_cast<float>(lr_ / (1.0 - std::pow(options_.beta1, t)));
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(options_.beta2, t)));
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& var = params_[i].var;
    if (!var.grad().defined()) continue;
    float* p = var.data().data();
    const float* grad = var.grad().data();
    float* m = m_[i].data();
    float* v = v_[i].data();
    const int64_t n = var.data().numel();
    for (int64_t j = 0; j < n; ++j) {
      const float g = grad[j] + wd * p[j];
      m[j] = b1 * m[j] + (1.0f - b1) * g;
      v[j] = b2 * v[j] + (1.0f - b2) * g * g;
      p[j] -= step_size * m[j] / (std::sqrt(v[j]) * inv_sqrt_bc2 + eps);
    }
  }
}

std::vector<StateSlot> Adam::state() {
  std::vector<StateSlot> slots;
  for (size_t i = 0; i < params_.size(); ++i) {
    slots.push_back({params_[i].name + ".exp_avg", &m_[i]});
    slots.push_back({params_[i].name + ".exp_avg_sq", &v_[i]});
  }
  return slots;
}

}  // namespace tinycnn::optim
