// Dataset: one split of a data set held as bytes — images [N][C][H][W] (one byte per pixel and
// channel, row-major) and their labels — as the readers (idx, cifar10, image_folder) produce it.
// Batches are gathered into floats on demand: (pixel / 255 - mean[c]) / std[c], optionally
// augmented (a random crop of the zero-padded image and a left-right flip), each example's draw
// a function of (seed, epoch, example index) alone.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "data/mixing.hpp"
#include "tensor/tensor.hpp"

namespace tinycnn::data {

// One mean and standard deviation per channel (a single value serves every channel).
struct Normalization {
  std::vector<double> mean{0.1307};
  std::vector<double> stddev{0.3081};
};

// training.augment: training images only.
struct Augment {
  int64_t crop_padding = 0;  // > 0: pad by this many black pixels, crop back at a random offset
  bool horizontal_flip = false;
  uint64_t seed = 0;  // the run's
  // > 0: after the crop and flip, a square of this side, centred on a random pixel (clipped at
  // the borders), is set to 0 after normalisation (Cutout, DeVries & Taylor 2017).
  int64_t cutout = 0;
  // Mixup / CutMix (data/mixing.hpp): after the above, each image is mixed with its partner's,
  // augmented the same way.
  Mixing mixing{};
  bool any() const { return crop_padding > 0 || horizontal_flip || cutout > 0; }
};

class Dataset {
 public:
  Dataset() = default;
  // Throws core::Error (Runtime) naming `source` when sizes or labels are inconsistent.
  Dataset(std::string source, int64_t channels, int64_t height, int64_t width,
          std::vector<uint8_t> pixels, std::vector<int32_t> labels,
          std::vector<std::string> classes = {});

  int64_t size() const { return count_; }
  int64_t channels() const { return channels_; }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }
  int32_t label(int64_t i) const { return labels_[static_cast<size_t>(i)]; }
  const std::vector<std::string>& classes() const { return classes_; }
  void set_classes(std::vector<std::string> names) { classes_ = std::move(names); }
  const std::string& source() const { return source_; }
  const uint8_t* image(int64_t i) const { return pixels_.data() + i * image_bytes(); }
  int64_t image_bytes() const { return channels_ * height_ * width_; }

  // Keeps the first n examples (n > 0 and below the size), and frees the rest.
  void keep_first(int64_t n);
  // Every label below `num_classes` (the model's outputs); throws core::Error (Runtime) naming
  // the source and the first label that is not.
  void check_labels(int64_t num_classes) const;

  // Images `indices` as [n, C, H, W] normalised floats, and their labels.
  void gather(std::span<const int64_t> indices, const Normalization& norm, tensor::Tensor& images,
              std::vector<int32_t>& labels) const;
  // The same, each image augmented as `augment` says for `epoch`. Mixup and CutMix apply only
  // when `mixed` is given: it receives each example's partner label and weight (its label
  // stays in `labels`); `mixed` is left empty when the augmentation does not mix.
  void gather(std::span<const int64_t> indices, const Normalization& norm, const Augment& augment,
              int64_t epoch, tensor::Tensor& images, std::vector<int32_t>& labels,
              MixedLabels* mixed = nullptr) const;

 private:
  std::string source_;
  int64_t count_ = 0, channels_ = 1, height_ = 0, width_ = 0;
  std::vector<uint8_t> pixels_;
  std::vector<int32_t> labels_;
  std::vector<std::string> classes_;
};

}  // namespace tinycnn::data
