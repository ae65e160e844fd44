// MnistDataset: one split (train or t10k) of MNIST-format data held as bytes, checked against
// the model: one input channel, image size equal to the config's input, labels within its outputs.
// Batches are normalised to floats on demand: (pixel / 255 - mean) / std.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tensor/tensor.hpp"

namespace tinycnn::data {

struct DatasetOptions {
  std::string dir;       // holds the four IDX files
  std::string split;     // "train" or "t10k"
  int64_t channels = 1;  // the model's input (MNIST-format images have one)
  int64_t height = 28;
  int64_t width = 28;
  int64_t num_classes = 10;  // the model's outputs
  int64_t limit = 0;         // > 0: keep only the first `limit` examples
};

class MnistDataset {
 public:
  explicit MnistDataset(const DatasetOptions& options);

  int64_t size() const { return count_; }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }
  uint8_t label(int64_t i) const { return labels_[static_cast<size_t>(i)]; }

  // Images `indices` as [n, 1, H, W] normalised floats, and their labels.
  void gather(std::span<const int64_t> indices, double mean, double stddev, tensor::Tensor& images,
              std::vector<int32_t>& labels) const;

 private:
  int64_t count_ = 0, height_ = 0, width_ = 0;
  std::vector<uint8_t> pixels_;
  std::vector<uint8_t> labels_;
};

}  // namespace tinycnn::data
