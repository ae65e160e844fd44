// The data sets a config trains and tests on, read as its model needs them, and the
// normalisation applied to their pixels.
#pragma once

#include <cstdint>
#include <string>

#include "data/mnist.hpp"
#include "model/spec.hpp"

namespace tinycnn::train {

struct Normalization {
  double mean = 0.1307;
  double stddev = 0.3081;
};

// The split ("train" / "t10k") of the MNIST-format files in `dir` that `spec`'s model takes:
// its input size and channels, its `num_classes` outputs; `limit` > 0 keeps the first examples.
data::MnistDataset load_split(const model::ModelSpec& spec, const std::string& dir,
                              const std::string& split, int64_t num_classes, int64_t limit = 0);

// The bytes of a split's files in `dir` as they are on disk (0 for missing ones): what reading
// it will hold in memory.
int64_t split_bytes(const std::string& dir, const std::string& split);

}  // namespace tinycnn::train
