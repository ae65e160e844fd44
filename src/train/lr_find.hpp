// The learning-rate range test (Smith 2017, "Cyclical Learning Rates for Training Neural
// Networks", section 3.3): from a fresh model, one training step per learning rate, the rate
// growing exponentially from `start` to `end`, the loss recorded and smoothed, stopping when
// the smoothed loss diverges. Nothing is written: the caller draws and prints the result.
#pragma once

#include <cstdint>
#include <vector>

#include "model/spec.hpp"

namespace tinycnn::train {

struct LrFindOptions {
  double start = 1e-7, end = 10;  // 0 < start < end
  int64_t steps = 100;            // >= 2; batches are drawn from the shuffled training set
  int64_t limit_train = 0;        // > 0: the first N training examples only
  double beta = 0.98;             // the loss's exponential moving average (bias-corrected)
  double diverge = 4;             // stop when the smoothed loss exceeds this x its minimum
};

struct LrFindResult {
  std::vector<double> lrs, losses, smoothed;  // per step taken
  bool diverged = false;   // stopped early: the smoothed loss passed diverge x its minimum, or NaN
  double min_lr = 0;       // the rate at the smoothed loss's minimum
  double steepest_lr = 0;  // where the smoothed loss falls fastest against log(lr), before it
};

// Throws core::Error (Invalid) for bad options, as the data and memory checks of `train` do.
LrFindResult find_lr(const model::ModelSpec& spec, const LrFindOptions& options);

}  // namespace tinycnn::train
