// What the train / hardening CLI tests share: a tiny model on 8 x 8 one-channel images and a
// fixture that writes its synthetic MNIST-format data and config into a temporary directory.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "io/safetensors.hpp"
#include "run.hpp"
#include "support/idx_writer.hpp"

namespace tinycnn::testing {

// conv 3x3 -> relu -> pool -> flatten -> linear 10 on 8x8 images, 1 epoch of batch 32.
inline nlohmann::json tiny_config(int64_t out_channels = 4) {
  return nlohmann::json::parse(R"({
    "name": "tiny",
    "input": {"channels": 1, "height": 8, "width": 8},
    "layers": [
      {"type": "conv2d", "out_channels": )" +
                               std::to_string(out_channels) + R"(, "kernel_size": 3, "padding": 1},
      {"type": "relu"},
      {"type": "maxpool2d", "kernel_size": 2},
      {"type": "flatten"},
      {"type": "linear", "out_features": 10}
    ],
    "training": {"epochs": 1, "batch_size": 32, "seed": 7,
                 "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9}}
  })");
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// A copy of a tiny-config checkpoint at `out` whose last linear layer's weights are +-3e38:
// every logit overflows. Returns `out`.
inline std::string with_overflowing_logits(const std::string& checkpoint, const std::string& out) {
  io::SafetensorsFile f = io::read_safetensors(checkpoint);
  for (auto& t : f.tensors) {
    if (t.name == "layers.4.weight") {
      for (int64_t i = 0; i < t.tensor.numel(); ++i) t.tensor[i] = (i % 2 ? -1 : 1) * 3e38f;
    }
  }
  io::write_safetensors(out, f.tensors, f.metadata);
  return out;
}

// A learnable MNIST-format set of 8 x 8 images in `dir` (320 training, 100 test): class k's
// row k % 8 is bright (and, for k >= 8, its column k - 8 too), with a little noise. Returns dir.
inline std::string write_learnable(const std::string& dir) {
  std::filesystem::create_directories(dir);
  for (const auto& [split, count] : {std::pair{"train", 320u}, {"t10k", 100u}}) {
    std::vector<uint8_t> pixels(count * 64), labels(count);
    for (uint32_t i = 0; i < count; ++i) {
      const uint32_t k = i % 10;
      labels[i] = static_cast<uint8_t>(k);
      for (uint32_t p = 0; p < 64; ++p) {
        const bool on = p / 8 == k % 8 || (k >= 8 && p % 8 == k - 8);
        pixels[i * 64 + p] = static_cast<uint8_t>((on ? 200 : 20) + (i * 13 + p * 7) % 40);
      }
    }
    write_file(dir + "/" + split + "-images-idx3-ubyte", idx_bytes(2051, {count, 8, 8}, pixels));
    write_file(dir + "/" + split + "-labels-idx1-ubyte", idx_bytes(2049, {count}, labels));
  }
  return dir;
}

// 256 training and 64 test images of 8 x 8 in data/, the tiny config in tiny.json.
class TinyRun : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = (dir_.path() / "data").string();
    std::filesystem::create_directories(data_);
    write_mnist_split(data_, "train", 256, 8, 8);
    write_mnist_split(data_, "t10k", 64, 8, 8);
    config_ = dir_.write("tiny.json", tiny_config().dump());
  }
  // `train CONFIG --data DATA --out OUT` and `extra`.
  std::vector<std::string> train_args(const std::string& out,
                                      std::vector<std::string> extra = {}) const {
    std::vector<std::string> args{"train", config_, "--data", data_, "--out", out};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  std::string path(const std::string& name) const { return (dir_.path() / name).string(); }
  TempDir dir_;
  std::string data_, config_;
};

}  // namespace tinycnn::testing
