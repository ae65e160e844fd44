// The training loop: seeded shuffle, mini-batches, forward / loss / backward / step, a test
// pass after every epoch; in the out dir config.json, and after every epoch metrics.jsonl, an
// atomically replaced checkpoint and curves.svg; resume, init, a NaN/Inf guard and cooperative
// interruption.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "model/spec.hpp"
#include "run/metrics_log.hpp"

namespace tinycnn::train {

struct RunOptions {
  std::string out_dir;      // created if missing
  std::string resume;       // checkpoint to continue from (whole state), or empty
  std::string init;         // checkpoint to take weights from (fresh run), or empty
  int64_t limit_train = 0;  // > 0: first N training examples only
  int64_t limit_test = 0;
  std::string config_json;  // the resolved config: out_dir/config.json and checkpoint metadata
  bool replace = false;     // a fresh run may replace another run's files in out_dir
};

struct StepProgress {
  int64_t epoch, epochs, batch, batches;  // epoch and batch 1-based
  double loss, accuracy, images_per_second;
  // At the rate measured in this epoch so far: its training pass's seconds to go, and the whole
  // pass's (train::TimeLeft makes the run's time to go of them).
  double epoch_seconds_left, epoch_seconds_estimate;
};

struct TrainCallbacks {
  std::function<void(const StepProgress&)> on_step;
  std::function<void(const run::EpochMetrics&)> on_epoch;
  const std::atomic<bool>* stop = nullptr;  // set (e.g. by a signal handler) to stop after a step
};

struct TrainResult {
  std::vector<run::EpochMetrics> epochs;  // those run now
  int64_t completed_epochs = 0;           // in total, resumed ones included
  double final_test_accuracy = 0;
  // The best epoch by training.early_stopping.monitor (test accuracy by default), over the
  // whole run (resumed epochs too), and its test accuracy: what best.safetensors holds.
  int64_t best_epoch = 0;
  double best_test_accuracy = 0;
  bool stopped_early = false;  // training.early_stopping ended the run before its last epoch
  bool interrupted = false;
  std::string checkpoint;
  std::string best_checkpoint;  // best.safetensors beside the checkpoint
};

// Throws core::Error: Invalid for bad options, Runtime for data / checkpoint / divergence.
// Interruption (callbacks.stop) saves the state, mid-epoch too, and returns interrupted.
TrainResult run_training(const model::ModelSpec& spec, const RunOptions& run,
                         const TrainCallbacks& callbacks);

}  // namespace tinycnn::train
