// Checkpoints (docs/checkpoint.md): a safetensors file with the model's parameters
// ("layers.0.weight"), the optimizer's slots ("optimizer.layers.0.weight.momentum") and metadata:
// format, config, epoch (completed epochs), step (global step count), rng (data-order RNG state at
// the start of epoch `epoch`), tinycnn_version, and the run's best epoch so far (best_epoch,
// best_monitor, best_value, best_test_accuracy). Written atomically.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "nn/sequential.hpp"
#include "optim/optimizer.hpp"

namespace tinycnn::run {

struct TrainState {
  int64_t epoch = 0;  // completed epochs
  int64_t step = 0;   // optimizer steps taken in total
  core::Rng::State rng{};
  // Of the run that saved it (0: not recorded): a resume must see the same batches.
  int64_t batch_size = 0, train_examples = 0;
  std::optional<bool> drop_last, shuffle;  // the run's training.drop_last / shuffle
  std::string precision;  // the run's training.precision ("float32" / "bf16"; empty: not recorded)
  std::vector<std::string> classes;  // the outputs' names, where known (metadata "classes")
  // The best epoch so far by `best_monitor` ("test_accuracy" / "test_loss"; 0: none recorded),
  // its value of that metric and its test accuracy: what best.safetensors holds.
  int64_t best_epoch = 0;
  std::string best_monitor;
  double best_value = 0, best_test_accuracy = 0;
};

void save_checkpoint(const std::string& path, nn::Sequential& model, optim::Optimizer& optimizer,
                     const TrainState& state, const std::string& config_json);

// Loads the weights into `model`, checking every name and shape against it and refusing
// non-finite values. With `optimizer` (resume) the optimizer slots and metadata are required
// too and the saved state is returned; without it (init, eval) they are ignored.
TrainState load_checkpoint(const std::string& path, nn::Sequential& model,
                           optim::Optimizer* optimizer);

// True when every parameter value is finite.
bool all_finite(nn::Sequential& model);

}  // namespace tinycnn::run
