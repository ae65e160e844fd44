// The data sets a config trains and tests on (training.dataset: mnist, fashion-mnist, idx,
// cifar10, image_folder), read as its model needs them and checked against it, and the
// normalisation applied to their pixels.
#pragma once

#include <cstdint>
#include <string>

#include "data/dataset.hpp"
#include "model/spec.hpp"

namespace tinycnn::train {

enum class Split { Train, Test };

// The split of the data set in `dir` that `spec`'s model takes: its input size and channels,
// labels below its `num_classes` outputs; `limit` > 0 keeps the first examples. Throws
// core::Error (Runtime) naming the file for anything that does not fit.
data::Dataset load_split(const model::ModelSpec& spec, const std::string& dir, Split split,
                         int64_t num_classes, int64_t limit = 0);

// training.normalize as the gather takes it.
data::Normalization normalization(const model::TrainingSpec& t);
// training.augment as the gather takes it.
data::Augment augmentation(const model::TrainingSpec& t);

// The bytes of a split's files in `dir` as they are on disk (0 for missing ones): about what
// reading it will hold in memory.
int64_t split_bytes(const std::string& dataset, const std::string& dir, Split split);

}  // namespace tinycnn::train
