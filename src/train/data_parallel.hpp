// One training step with the batch split across threads: each thread takes a contiguous slice
// of the batch through its own copy of the model (the replicas share the primary's weight
// buffers, each has its own gradients and saved activations), forward and backward in one go;
// then the gradients are summed into the primary's, slices in thread order. So a step has one
// fork and two barriers instead of one parallel region per op, and the bookkeeping between the
// kernels (graph, allocation, loss) runs on both cores. Inside a slice the kernels run on their
// thread alone (OpenMP does not nest), OpenBLAS too (its OpenMP build sees the parallel region).
// Without batch norm the batch is cut into two slices per thread, which the threads take in
// turn as they finish, so a thread slowed by another process does less of the work; which
// thread runs a slice does not change its bits. The same thread count gives the same bits; one
// thread is exactly the plain step. Batch norm's statistics are the whole batch's: its layers
// reduce across the slices through one SliceReducer (a barrier in the middle of forward and
// backward, partials added in slice order), handed to each slice's forward as its step context;
// the replicas share the primary's running statistics, which only the primary updates.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "autograd/variable.hpp"
#include "data/dataset.hpp"
#include "model/spec.hpp"
#include "nn/sequential.hpp"
#include "runtime/slice_reducer.hpp"
#include "tensor/tensor.hpp"

namespace tinycnn::train {

struct StepResult {
  double loss_sum = 0;  // the batch's summed per-example loss (mean * n)
  // Examples whose arg-max logit is the label — under mixup / CutMix, the label that weighs
  // more in the example's target (its own at lambda >= 1/2, else its partner's).
  int64_t correct = 0;
  bool stop = false;  // (train::Step) a process was asked to stop after this batch
};

class DataParallelStep {
 public:
  // On `threads` threads: as many slices with batch norm, twice as many without (fewer when a
  // batch has fewer examples). The replicas are built
  // from `spec` (their own dropout streams) and then point at `model`'s weights: build this
  // after loading a checkpoint into `model`, and keep `model` alive and its weights in place.
  // `across` (or null: this process alone): batch norm's statistics are also summed across
  // processes through it (training across MPI ranks).
  DataParallelStep(const model::ModelSpec& spec, nn::Sequential& model, int threads,
                   runtime::Collective* across = nullptr);
  DataParallelStep(const DataParallelStep&) = delete;
  DataParallelStep& operator=(const DataParallelStep&) = delete;

  // Fills examples [begin, end) of the batch into `images` ([end - begin, C, H, W]; reshaped
  // as needed), `labels` and, under mixup / CutMix, `mixed` (else left empty). Called on the
  // slice's own thread, concurrently.
  using Fill = std::function<void(int64_t begin, int64_t end, tensor::Tensor& images,
                                  std::vector<int32_t>& labels, data::MixedLabels& mixed)>;

  // Zeroes every gradient, then forward + backward of a batch of n examples that `fill`
  // provides; leaves the batch-mean gradients in `model`'s parameters.
  StepResult run(int64_t n, const Fill& fill);
  // The examples `indices` of `data`, normalised, and augmented as `augment` says for `epoch`.
  StepResult run(const data::Dataset& data, const std::vector<int64_t>& indices,
                 const data::Normalization& norm, const data::Augment& augment = {},
                 int64_t epoch = 0);
  // A batch already in memory: images [n, C, H, W] and their n labels.
  StepResult run(const tensor::Tensor& images, const std::vector<int32_t>& labels);

  int threads() const { return threads_; }
  // The primary, then the replicas: for train::evaluate's data-parallel form.
  std::span<nn::Sequential* const> models() const { return models_; }

 private:
  // Thread t's slice [begin, end) of the n examples: filled, forward, loss, backward.
  StepResult run_slice(int t, int64_t begin, int64_t end, int64_t n, const Fill& fill);
  // Thread t of nt adds its block of slices 1..slices-1's gradients into the primary's.
  void sum_gradients(int t, int nt, int slices);

  int threads_ = 1;
  float label_smoothing_ = 0.0f;         // the loss's (training.label_smoothing)
  bool batch_norm_ = false;              // slices meet in the middle: one per thread, all at once
  std::vector<nn::Sequential*> models_;  // [0] the primary
  std::vector<std::unique_ptr<nn::Sequential>> owned_;        // the replicas
  std::vector<std::vector<autograd::NamedVariable>> params_;  // per model, the same order
  runtime::SliceReducer reducer_;
  // Per thread: its slice's images and labels (reused across steps).
  struct Slice {
    tensor::Tensor images;
    std::vector<int32_t> labels;
    data::MixedLabels mixed;
  };
  std::vector<Slice> slices_;
};

}  // namespace tinycnn::train
