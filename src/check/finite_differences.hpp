// The finite-difference core shared by `tinycnn gradcheck` and the test suite: central
// differences of a scalar objective with respect to entries of one tensor, next to the gradient
// autograd gave. Entries whose nudges cross a kink (a ReLU at 0, a max-pool tie) are skipped:
// the objective reports a kink signature (which outputs are zero, which input won a pool) that
// differs between the two nudges and the unnudged value.
// Where the objective is far from linear over the nudge (batch norm of a channel whose batch
// variance is comparable to its eps: the variance is quadratic in the nudge), the central
// difference at `eps` is off by its curvature, not by a wrong backward. An entry whose estimate
// disagrees with the analytic gradient by more than `refine_above` is measured again at eps/4
// and eps/16 (the truncation error of a central difference falls 16-fold per step where the
// objective is smooth); the finest estimate is used when the three converge (each step closer
// than the last), and the entry is counted as nonlinear (not checked) when they do not.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "tensor/tensor.hpp"

namespace tinycnn::check {

struct FiniteDifferenceOptions {
  double eps = 1e-2;
  int64_t all_up_to = 1000;  // tensors with at most this many entries: every entry
  int64_t sample = 200;      // larger tensors: this many entries, drawn from `seed`
  uint64_t seed = 7;
  double skip_below = 0.0;  // entries with |value| < this are not nudged
  // Relative disagreement |a - n| / max(|a|, |n|, 1e-3) above which an entry is measured again
  // at smaller nudges; 0: never.
  double refine_above = 0.0;
};

struct EntryCheck {
  int64_t index;
  double analytic, numeric;
  double nudge;  // the nudge `numeric` was measured with
};

struct FiniteDifferences {
  std::vector<EntryCheck> entries;
  int64_t skipped = 0;    // at kinks
  int64_t nonlinear = 0;  // estimates that did not converge at smaller nudges (not checked)
};

// The relative disagreement of two derivatives, as every check measures it.
double relative_error(double analytic, double numeric);

// The objective at the current values; fills `signature` (when given) with its kink state.
using Objective = std::function<double(std::vector<uint8_t>* signature)>;

// Nudges entries of `values` in place (restoring each) and evaluates `objective` around them.
// `analytic` is autograd's gradient of the objective with respect to `values`.
FiniteDifferences finite_differences(tensor::Tensor& values, const tensor::Tensor& analytic,
                                     const Objective& objective,
                                     const FiniteDifferenceOptions& options);

}  // namespace tinycnn::check
