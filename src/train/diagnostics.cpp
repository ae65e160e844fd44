// Gradient-flow diagnostics; see diagnostics.hpp.
#include "train/diagnostics.hpp"

#include <cmath>

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "nn/observe.hpp"
#include "nn/simple_layers.hpp"

namespace tinycnn::train {

namespace {
constexpr double kVanishing = 1e-7;  // gradient norm relative to the weights'
constexpr double kExploding = 0.1;   // update ratio

double sum_of_squares(const tensor::Tensor& t) {
  double sum = 0;
  for (int64_t i = 0; i < t.numel(); ++i) sum += static_cast<double>(t[i]) * t[i];
  return sum;
}

// The layers that hold parameters themselves (not blocks), with their parameters.
template <typename Visit>
void for_each_parameterised(nn::Sequential& model, const Visit& visit) {
  nn::walk(model, [&](const std::string& name, nn::Module& layer, int) {
    if (!layer.children().empty()) return;
    auto params = layer.parameters();
    if (!params.empty()) visit(name, layer, params);
  });
}
}  // namespace

void GradientFlowProbe::before_step(nn::Sequential& model) {
  layers_.clear();
  for_each_parameterised(model, [&](const std::string& name, nn::Module& layer,
                                    std::vector<autograd::NamedVariable>& params) {
    Layer l{.name = name, .type = layer.type(), .grad_norm = 0, .before = {}};
    double squares = 0;
    for (auto& p : params) {
      if (p.var.grad().defined()) squares += sum_of_squares(p.var.grad());
      l.before.push_back(p.var.data().clone());
    }
    l.grad_norm = std::sqrt(squares);
    layers_.push_back(std::move(l));
  });
}

std::vector<run::LayerDiagnostic> GradientFlowProbe::after_step(nn::Sequential& model,
                                                                const tensor::Tensor& images) {
  std::vector<run::LayerDiagnostic> out;
  size_t next = 0;
  for_each_parameterised(model, [&](const std::string& name, nn::Module&,
                                    std::vector<autograd::NamedVariable>& params) {
    TCNN_CHECK(next < layers_.size() && layers_[next].name == name,
               "diagnostics: the model's layers changed during the step");
    const Layer& l = layers_[next++];
    double weights = 0, moved = 0;
    for (size_t j = 0; j < params.size(); ++j) {
      const tensor::Tensor& w = params[j].var.data();
      weights += sum_of_squares(w);
      for (int64_t i = 0; i < w.numel(); ++i) {
        const double d = static_cast<double>(w[i]) - l.before[j][i];
        moved += d * d;
      }
    }
    const double weight_norm = std::sqrt(weights);
    out.push_back({.layer = name,
                   .type = l.type,
                   .grad_norm = l.grad_norm,
                   .weight_norm = weight_norm,
                   .update_ratio = weight_norm > 0 ? std::sqrt(moved) / weight_norm : 0.0,
                   .dead_fraction = -1});
  });

  // Dead ReLUs: a unit (one output position of one channel) that is zero for every example.
  const bool was_training = model.training();
  model.set_training(false);
  {
    autograd::NoGradGuard no_grad;
    nn::ForwardHooks hooks;
    hooks.after = [&](const std::string& name, nn::Module& layer, const autograd::Variable&,
                      const autograd::Variable& y) {
      if (layer.kind() != nn::LayerKind::Relu) return;
      const int64_t n = y.shape()[0], units = y.data().numel() / n;
      int64_t dead = 0;
      for (int64_t u = 0; u < units; ++u) {
        bool all_zero = true;
        for (int64_t i = 0; i < n && all_zero; ++i) all_zero = y.data()[i * units + u] <= 0.0f;
        dead += all_zero ? 1 : 0;
      }
      out.push_back({.layer = name,
                     .type = "relu",
                     .dead_fraction = static_cast<double>(dead) / static_cast<double>(units)});
    };
    (void)nn::forward_observed(model, autograd::Variable(images), hooks);
  }
  model.set_training(was_training);
  return out;
}

std::vector<std::string> gradient_flow_warnings(
    const std::vector<run::LayerDiagnostic>& diagnostics) {
  std::vector<std::string> lines;
  for (const auto& d : diagnostics) {
    if (d.dead_fraction >= 0) continue;
    if (d.weight_norm > 0 && d.grad_norm < kVanishing * d.weight_norm) {
      lines.push_back(core::concat(d.layer, " (", d.type, "): the gradient vanishes: norm ",
                                   d.grad_norm, " against weights of norm ", d.weight_norm));
    }
    if (d.update_ratio > kExploding) {
      lines.push_back(core::concat(d.layer, " (", d.type,
                                   "): the update explodes: ||dw|| / ||w|| = ", d.update_ratio,
                                   " (above ", kExploding, ")"));
    }
  }
  return lines;
}

}  // namespace tinycnn::train
