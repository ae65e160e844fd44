// `tinycnn gradcheck`: every layer's backward against central finite differences of the loss.
// On a random batch (inputs N(0, 1), labels uniform, from the seed), layer i's input is the
// output of the layers before it; the objective is the mean cross-entropy of the layers from i
// on, computed by the double-precision forward (double_forward.hpp) on the piece the float
// forward chose at ReLUs and max pools, after checking that the two forwards' losses agree.
// Per layer, its input gradient and each parameter's gradient are compared over every entry
// (tensors of up to 1000) or a seeded sample of 200. An entry's relative error is
// |a - n| / max(|a|, |n|, 1e-3); one above the tolerance is measured again at eps/4 and eps/16
// (finite_differences.hpp), so that curvature over the nudge is not reported as a wrong
// gradient. Batch norm runs in training mode; dropout is off. A residual
// block is one layer: its parameters are all the parameters inside it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nn/sequential.hpp"

namespace tinycnn::check {

struct ModelCheckOptions {
  int64_t batch = 4;
  uint64_t seed = 42;
  double eps = 1e-3;
  double tolerance = 1e-2;  // PASS when the max relative error is at most this
  bool refine = true;       // false: every entry at `eps` alone (finite_differences.hpp)
};

struct TensorCheckReport {
  std::string name;  // "input", "weight", "layers.0.weight" (inside a block)
  int64_t entries = 0, skipped = 0;
  // Entries measured again at smaller nudges (the objective curved over the first one), and
  // entries whose estimates did not converge there (not checked).
  int64_t refined = 0, nonlinear = 0;
  double max_abs_error = 0, max_rel_error = 0;
  bool pass = true;
};

struct LayerCheckReport {
  size_t index = 0;
  std::string type, description;
  std::vector<TensorCheckReport> checks;
};

struct ModelCheckReport {
  std::vector<LayerCheckReport> layers;
  bool pass = true;
};

// `input`: one example's shape ([C, H, W]). Leaves the model in training mode.
ModelCheckReport check_model(nn::Sequential& net, const tensor::Shape& input,
                             const ModelCheckOptions& options);

}  // namespace tinycnn::check
