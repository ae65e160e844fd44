// Evaluation of a model on a data set: mean loss, accuracy, per-class accuracy and the
// K x K confusion matrix (rows = true class). Runs batched, in eval mode, with no graph.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "data/dataset.hpp"
#include "nn/sequential.hpp"
#include "train/dataset.hpp"

namespace tinycnn::train {

struct EvalResult {
  double loss = 0.0;
  double accuracy = 0.0;
  std::vector<double> per_class_accuracy;       // K; NaN-free: 0 for classes with no example
  std::vector<std::vector<int64_t>> confusion;  // K x K
  int64_t examples = 0;
};

// Batches of 100 by default: as fast as larger ones, with a fraction of the activation memory
// (docs/performance.md).
inline constexpr int64_t kEvalBatch = 100;

// What a part of a data set adds up to: summed over parts (or processes), then summarized.
struct EvalTally {
  double loss_sum = 0.0;
  int64_t examples = 0;
  std::vector<std::vector<int64_t>> confusion;  // K x K

  // As one vector of doubles (loss sum, examples, the confusion row by row), to sum elsewhere.
  std::vector<double> to_sums() const;
  static EvalTally from_sums(const std::vector<double>& sums, int64_t num_classes);
};

// Examples [begin, end) of `dataset`. With several copies of one model sharing its weights
// (DataParallelStep's), each takes a contiguous part on its own thread, in batches of
// batch_size / models (the same memory in flight); with one model the kernels split each batch
// across the threads instead. The counts are the same either way; the loss sums in another order.
EvalTally evaluate_part(std::span<nn::Sequential* const> models, const data::Dataset& dataset,
                        const data::Normalization& norm, int64_t num_classes, int64_t batch_size,
                        int64_t begin, int64_t end);
EvalResult summarize(const EvalTally& tally);

// The whole data set.
EvalResult evaluate(nn::Sequential& model, const data::Dataset& dataset,
                    const data::Normalization& norm, int64_t num_classes,
                    int64_t batch_size = kEvalBatch);
EvalResult evaluate(std::span<nn::Sequential* const> models, const data::Dataset& dataset,
                    const data::Normalization& norm, int64_t num_classes,
                    int64_t batch_size = kEvalBatch);

}  // namespace tinycnn::train
