// Gradient-flow diagnostics (training.diagnostics): at each epoch's last step, per layer with
// parameters, the gradient norm (all its parameters' gradients, before the step), the weight
// norm (after it) and the update ratio ||w_after - w_before|| / ||w_after||; per ReLU the
// fraction of its units that output zero for every example of that batch ("dead"), from a
// forward of the batch in eval mode after the step (no side effects: the run's trajectory is
// the same with diagnostics on or off). Nothing is computed when they are off.
#pragma once

#include <string>
#include <vector>

#include "nn/sequential.hpp"
#include "run/metrics_log.hpp"

namespace tinycnn::train {

class GradientFlowProbe {
 public:
  // Before the optimizer step: the gradients' norms and a copy of the weights.
  void before_step(nn::Sequential& model);
  // After it; `images` is the step's batch ([N, C, H, W], as the model saw it).
  std::vector<run::LayerDiagnostic> after_step(nn::Sequential& model, const tensor::Tensor& images);

 private:
  struct Layer {
    std::string name, type;
    double grad_norm = 0;
    std::vector<tensor::Tensor> before;  // the weights before the step
  };
  std::vector<Layer> layers_;
};

// One line per layer whose gradient vanishes (norm < 1e-7 of its weights') or whose update
// explodes (ratio > 0.1), for the epoch's log.
std::vector<std::string> gradient_flow_warnings(
    const std::vector<run::LayerDiagnostic>& diagnostics);

}  // namespace tinycnn::train
