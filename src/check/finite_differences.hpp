// The finite-difference core shared by `tinycnn gradcheck` and the test suite: central
// differences of a scalar objective with respect to entries of one tensor, next to the gradient
// autograd gave. Entries whose nudges cross a kink (a ReLU at 0, a max-pool tie) are skipped:
// the objective reports a kink signature (which outputs are zero, which input won a pool) that
// differs between the two nudges and the unnudged value.
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
};

struct EntryCheck {
  int64_t index;
  double analytic, numeric;
};

struct FiniteDifferences {
  std::vector<EntryCheck> entries;
  int64_t skipped = 0;  // at kinks
};

// The objective at the current values; fills `signature` (when given) with its kink state.
using Objective = std::function<double(std::vector<uint8_t>* signature)>;

// Nudges entries of `values` in place (restoring each) and evaluates `objective` around them.
// `analytic` is autograd's gradient of the objective with respect to `values`.
FiniteDifferences finite_differences(tensor::Tensor& values, const tensor::Tensor& analytic,
                                     const Objective& objective,
                                     const FiniteDifferenceOptions& options);

}  // namespace tinycnn::check
