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
#include "train/memory_check.hpp"

namespace tinycnn::profile {

// A row per layer of the model's tree, pre-order; a block's times include its layers'.
struct LayerTiming {
  size_t index = 0;  // in its list
  std::string name;  // "layers.3.layers.0"
  int depth = 0;     // 0 for the model's own layers
  std::string type, description;
  std::string plan_summary;  // a convolution's plan (kernels::ConvPlan::summary()); else empty
  double forward_ms = 0, backward_ms = 0;  // medians over the repeats
  double percent = 0;                      // of the whole step
  double gflops = 0;                       // (forward + backward FLOPs) / time
};

struct StepProfile {
  std::vector<LayerTiming> layers;
  double loss_ms = 0;  // forward + backward of the loss
  double optimizer_ms = 0;
  double step_ms = 0;  // the model's own layers, the loss and the optimizer
  int repeats = 0;
  runtime::Contention contention;  // over the timed steps (busy: the figures are not to be trusted)
  // The estimate `train` checks before it starts (train/memory_check.hpp), for this batch and
  // for others.
  train::MemoryEstimate memory;
  std::vector<train::MemoryEstimate> memory_by_batch;
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

}  // namespace tinycnn::profile
