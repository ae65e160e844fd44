// Evaluation of a model on a data set: mean loss, accuracy, per-class accuracy and the
// K x K confusion matrix (rows = true class). Runs batched, in eval mode, with no graph.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "data/dataset.hpp"
#include "dist/group.hpp"
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
EvalResult evaluate(nn::Sequential& model, const data::Dataset& dataset,
                    const data::Normalization& norm, int64_t num_classes, int64_t batch_size = 100);
// The same with copies of one model sharing its weights (DataParallelStep's): each takes a
// contiguous part of the data set on its own thread, in batches of batch_size / models (the
// same memory in flight). The counts are the same as with one model;
// the loss sums in another order.
// With a group of several ranks (training across processes), each rank evaluates its
// contiguous part of the data set and the counts and loss sums are added across the ranks.
EvalResult evaluate(std::span<nn::Sequential* const> models, const data::Dataset& dataset,
                    const data::Normalization& norm, int64_t num_classes, int64_t batch_size = 100,
                    dist::Group* group = nullptr);

}  // namespace tinycnn::train
