// The epochs of a training run: from the resume position, each epoch's seeded order, its
// batches through the step, the test pass, and the epoch committed to the run's files. It sees
// one Step (step.hpp), whose results are the same on every process, and never names a rank.
#pragma once

#include <cstdint>

#include "core/rng.hpp"
#include "data/dataset.hpp"
#include "model/spec.hpp"
#include "nn/sequential.hpp"
#include "optim/optimizer.hpp"
#include "run/checkpoint.hpp"
#include "run/run_files.hpp"
#include "train/step.hpp"
#include "train/trainer.hpp"

namespace tinycnn::train {

// What a run's epochs share (all of it set up by run_training).
struct Loop {
  const model::TrainingSpec& t;
  const RunOptions& options;
  const TrainCallbacks& callbacks;
  const run::RunFiles& files;
  nn::Sequential& model;
  optim::Optimizer& optimizer;
  Step& step;
  const data::Dataset& train_set;
  const data::Dataset& test_set;
  const data::Normalization norm;
  const data::Augment augment;
  int64_t num_classes;
  int64_t batches;  // per epoch
  // Whether this run has written its run files (a resumed run at once, a fresh one when it
  // first has something to keep).
  mutable bool files_started = false;
};

// From `state` (a fresh run's, or a resumed checkpoint's) to the last epoch or an interruption.
// `data_rng` is the data-order RNG, at the state the next epoch's order comes from.
TrainResult run_epochs(const Loop& loop, run::TrainState& state, core::Rng& data_rng);

}  // namespace tinycnn::train
