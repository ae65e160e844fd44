// One real training step (forward, loss, backward, optimizer) timed per layer, like
// `caffe time` but on a real batch, and the memory such a step needs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/spec.hpp"
#include "nn/sequential.hpp"
#include "optim/optimizer.hpp"
#include "profile/timing.hpp"

namespace tinycnn::profile {

// A row per layer of the model's tree, pre-order; a block's times include its layers'.
struct LayerTiming {
  size_t index = 0;  // in its list
  std::string name;  // "layers.3.layers.0"
  int depth = 0;     // 0 for the model's own layers
  std::string type, description;
  double forward_ms = 0, backward_ms = 0;  // medians over the repeats
  double percent = 0;                      // of the whole step
  double gflops = 0;                       // (forward + backward FLOPs) / time
};

struct StepMemory {
  int64_t batch = 0;
  int64_t params = 0, grads = 0, optimizer_state = 0;  // bytes
  int64_t activations = 0;    // kept for backward: the input and every layer's output
  int64_t saved_columns = 0;  // im2col column matrices kept from forward for backward
  int64_t workspace = 0;      // largest conv scratch (im2col or implicit, backward) of one layer
  int64_t total() const {
    return params + grads + optimizer_state + activations + saved_columns + workspace;
  }
};

struct StepProfile {
  std::vector<LayerTiming> layers;
  double loss_ms = 0;  // forward + backward of the loss
  double optimizer_ms = 0;
  double step_ms = 0;  // the model's own layers, the loss and the optimizer
  int repeats = 0;
  StepMemory memory;
  std::vector<StepMemory> memory_by_batch;  // the same for other batch sizes (analytic)
};

// `model` must be built from `spec`; `optimizer` must hold its parameters.
StepProfile profile_step(const model::ModelSpec& spec, nn::Sequential& model,
                         optim::Optimizer& optimizer, int64_t batch, int warmup, int repeats,
                         int threads);

// One step as `train` runs it (train::DataParallelStep: the batch split across `threads`, each
// slice through the whole model, fused layers), then the optimizer step: random inputs from the
// config's seed, median wall time over `repeats` after `warmup`.
TimingStats time_train_step(const model::ModelSpec& spec, nn::Sequential& model,
                            optim::Optimizer& optimizer, int64_t batch, int warmup, int repeats,
                            int threads);

// Analytic step memory for `batch` (optimizer state from `optimizer_state_bytes`).
StepMemory step_memory(const model::ModelSpec& spec, int64_t batch, int64_t optimizer_state_bytes,
                       int threads);

}  // namespace tinycnn::profile
