// Models and data the int8 tests share: a model of every kind int8 runs, random byte images as
// a data set, and batch-norm statistics and weights away from their initial values.
#pragma once

#include <memory>

#include "core/rng.hpp"
#include "data/dataset.hpp"
#include "model/builder.hpp"
#include "model/spec.hpp"

namespace tinycnn::quant {

inline const char* kEveryKind = R"({
  "name": "every_int8_kind", "input": {"channels": 2, "height": 10, "width": 10},
  "layers": [
    {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "padding": 1, "bias": false},
    {"type": "batchnorm2d"}, {"type": "relu"},
    {"type": "residual", "layers": [
      {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "stride": 2, "padding": 1,
       "groups": 2},
      {"type": "batchnorm2d"}, {"type": "relu"},
      {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1}],
     "shortcut": [{"type": "conv2d", "out_channels": 8, "kernel_size": 1, "stride": 2}]},
    {"type": "relu"},
    {"type": "avgpool2d", "kernel_size": 3, "stride": 1, "padding": 1},
    {"type": "maxpool2d", "kernel_size": 2}, {"type": "relu"},
    {"type": "residual", "layers": [{"type": "conv2d", "out_channels": 8, "kernel_size": 1}]},
    {"type": "global_avgpool2d"}, {"type": "flatten"}, {"type": "dropout"},
    {"type": "linear", "out_features": 12}, {"type": "batchnorm1d"}, {"type": "relu"},
    {"type": "linear", "out_features": 5}],
  "training": {"weight_init": "pytorch", "seed": 3}})";

// Random images (mean 0.5, sd 1) as a data set of bytes is not needed: calibration reads a
// Dataset, so the images are bytes normalised by mean 0.5 and sd 0.25.
inline data::Dataset byte_images(int64_t n, int64_t c, int64_t h, int64_t w, uint64_t seed) {
  core::Rng rng(seed);
  std::vector<uint8_t> pixels(static_cast<size_t>(n * c * h * w));
  for (auto& p : pixels) p = static_cast<uint8_t>(rng.uniform_int(256));
  return data::Dataset("mem", c, h, w, std::move(pixels),
                       std::vector<int32_t>(static_cast<size_t>(n), 0));
}

inline const data::Normalization kNorm{.mean = {0.5}, .stddev = {0.25}};

// The model with batch-norm statistics that are not the identity (so folding matters).
inline std::unique_ptr<nn::Sequential> trained_like(const model::ModelSpec& spec) {
  auto net = model::build_model(spec);
  core::Rng rng(11);
  for (auto& b : net->buffers()) {
    if (!b.f32) continue;
    for (int64_t i = 0; i < b.f32->numel(); ++i) {
      (*b.f32)[i] = b.name.ends_with("running_var") ? static_cast<float>(0.5 + rng.uniform())
                                                    : static_cast<float>(rng.normal(0, 0.2));
    }
  }
  for (auto& p : net->parameters()) {
    if (p.name.find("layers.1.") == 0 || p.name.find("layers.3.layers.1.") == 0) {
      for (int64_t i = 0; i < p.var.data().numel(); ++i) {
        p.var.data()[i] += static_cast<float>(rng.normal(0, 0.3));
      }
    }
  }
  net->set_training(false);
  return net;
}

// The first n images of `d`, normalised by kNorm.
inline tensor::Tensor images_of(const data::Dataset& d, int64_t n) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = i;
  tensor::Tensor x;
  std::vector<int32_t> labels;
  d.gather(idx, kNorm, x, labels);
  return x;
}

}  // namespace tinycnn::quant
