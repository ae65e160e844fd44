// One training step as the loop sees it: the whole batch's example indices in, the batch's
// summed loss and correct count out, the same on every process that trains together. Alone, a
// step is the thread step (data_parallel.hpp). Across processes (MPI ranks, cluster::Group)
// each takes its contiguous slice of the batch through its own thread step; their gradients,
// each weighted by its share of the batch, are summed in one fused buffer, and batch norm's
// statistics meet through the collective the thread step hands its slices. What the processes
// must agree on is asked here too, so the loop never names a rank: whether to stop, whether the
// run failed (reported once), whether the weights are still one model, and the test pass,
// split across them.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "cluster/group.hpp"
#include "data/dataset.hpp"
#include "model/spec.hpp"
#include "nn/sequential.hpp"
#include "runtime/collective.hpp"
#include "train/data_parallel.hpp"
#include "train/evaluate.hpp"

namespace tinycnn::train {

class Step {
 public:
  // As DataParallelStep: build it after loading a checkpoint into `model`.
  Step(const model::ModelSpec& spec, nn::Sequential& model, int threads, cluster::Group& group);

  // Zeroes the gradients, then forward and backward of the batch `batch` of `data` (normalised
  // and augmented for `epoch`); leaves the batch-mean gradients in the model's parameters.
  // `stop_requested` is asked once the batch is done; the result's `stop` says whether any
  // process was asked to stop.
  StepResult run(const data::Dataset& data, std::span<const int64_t> batch,
                 const data::Normalization& norm, const data::Augment& augment, int64_t epoch,
                 const std::function<bool()>& stop_requested);
  // Whether any process says so.
  bool any(bool mine);
  // `error`: what this process's set-up ended in, or null. When any process failed, the lowest
  // failing one rethrows its error and the others throw cluster::ReportedElsewhere.
  void agree(const std::exception_ptr& error);
  // A failure every process sees alike (`ok` is the same on each): one error line, and every
  // process throws.
  void require(bool ok, const std::function<std::string()>& message);
  // After an epoch: the processes' weights and running statistics are the same bits (a failure
  // otherwise, its message ending with `kept`: what the out dir keeps); the time the gradient
  // sums took is logged.
  void check_one_model(int64_t epoch, const std::string& kept);
  // The model on `data`, each process taking its part of it, the counts summed.
  EvalResult evaluate(const data::Dataset& data, const data::Normalization& norm,
                      int64_t num_classes);
  // This process writes the run's files (the first one does).
  bool writes() const { return group_.rank() == 0; }
  int threads() const { return threads_.threads(); }

 private:
  // Batch norm's statistics: the slices' sum, summed with the other processes'.
  class GroupSum : public runtime::Collective {
   public:
    explicit GroupSum(cluster::Group& group) : group_(group) {}
    void sum(int, std::span<double> values) override { group_.sum(values); }

   private:
    cluster::Group& group_;
  };

  StepResult sum_across(const StepResult& mine, int64_t n, int64_t slice);

  cluster::Group& group_;
  nn::Sequential& model_;
  GroupSum across_;
  DataParallelStep threads_;
  std::vector<autograd::NamedVariable> params_;  // the model's, in a fixed order
  std::vector<float> gradients_;                 // the fused buffer summed across processes
  std::vector<double> sum_seconds_;              // per step, this epoch
  std::vector<int64_t> mine_;                    // this process's slice of the batch
};

}  // namespace tinycnn::train
