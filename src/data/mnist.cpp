// MNIST split loading and batch gathering.
#include "data/mnist.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "data/idx.hpp"

namespace tinycnn::data {

MnistDataset::MnistDataset(const DatasetOptions& o) {
  TCNN_CHECK(o.split == "train" || o.split == "t10k", "dataset split: expected train or t10k, got ",
             o.split);
  TCNN_CHECK(o.channels == 1, "input.channels: MNIST images have 1 channel, the config says ",
             o.channels);
  const std::string images_path = o.dir + "/" + o.split + "-images-idx3-ubyte";
  const std::string labels_path = o.dir + "/" + o.split + "-labels-idx1-ubyte";
  IdxImages images = read_idx_images(images_path);
  TCNN_CHECK_RUNTIME(images.rows == o.height && images.cols == o.width, images_path,
                     ": images are ", images.rows, "x", images.cols, ", but the config's input is ",
                     o.height, "x", o.width);
  IdxLabels labels = read_idx_labels(labels_path, o.num_classes);
  TCNN_CHECK_RUNTIME(static_cast<int64_t>(labels.labels.size()) == images.count, labels_path,
                     ": has ", labels.labels.size(), " labels, but ", images_path, " has ",
                     images.count, " images");
  TCNN_CHECK_RUNTIME(images.count > 0, images_path, ": holds no images");
  count_ = o.limit > 0 ? std::min(o.limit, images.count) : images.count;
  height_ = images.rows;
  width_ = images.cols;
  images.pixels.resize(static_cast<size_t>(count_ * height_ * width_));
  images.pixels.shrink_to_fit();
  labels.labels.resize(static_cast<size_t>(count_));
  pixels_ = std::move(images.pixels);
  labels_ = std::move(labels.labels);
}

void MnistDataset::gather(std::span<const int64_t> indices, double mean, double stddev,
                          tensor::Tensor& images, std::vector<int32_t>& labels) const {
  const int64_t n = static_cast<int64_t>(indices.size());
  const int64_t plane = height_ * width_;
  if (!images.defined() || images.shape() != tensor::Shape({n, 1, height_, width_})) {
    images = tensor::Tensor::empty({n, 1, height_, width_});
  }
  labels.resize(static_cast<size_t>(n));
  // (p / 255 - mean) / std as one multiply-add per pixel.
  const float scale = static_cast<float>(1.0 / (255.0 * stddev));
  const float shift = static_cast<float>(-mean / stddev);
  for (int64_t b = 0; b < n; ++b) {
    const int64_t i = indices[static_cast<size_t>(b)];
    TCNN_CHECK(i >= 0 && i < count_, "dataset index ", i, " out of range 0..", count_ - 1);
    const uint8_t* src = pixels_.data() + i * plane;
    float* dst = images.data() + b * plane;
    for (int64_t p = 0; p < plane; ++p) dst[p] = static_cast<float>(src[p]) * scale + shift;
    labels[static_cast<size_t>(b)] = labels_[static_cast<size_t>(i)];
  }
}

}  // namespace tinycnn::data
