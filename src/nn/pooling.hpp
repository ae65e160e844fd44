// MaxPool2d and AvgPool2d layers (no parameters). stride defaults to kernel_size.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "nn/module.hpp"
#include "ops/pooling.hpp"

namespace tinycnn::nn {

struct Pool2dOptions;
// Throws core::Error (Invalid) whose message starts with the option's name ("padding: expected at
// most half of kernel_size 2x2, got 2x2"), so a config reader can prefix its path.
void check_options(const Pool2dOptions& options);

struct Pool2dOptions {
  std::array<int64_t, 2> kernel_size{2, 2};
  std::optional<std::array<int64_t, 2>> stride = std::nullopt;  // unset: = kernel_size
  std::array<int64_t, 2> padding{0, 0};                         // at most half the kernel
};

class Pool2d : public Module {
 public:
  static constexpr const char* kClassName = "Pool2d";
  static constexpr bool holds(LayerKind k) {
    return k == LayerKind::MaxPool2d || k == LayerKind::AvgPool2d;
  }
  enum class Kind { Max, Avg };
  Pool2d(Kind kind, const Pool2dOptions& options);

  LayerKind kind() const override {
    return kind_ == Kind::Max ? LayerKind::MaxPool2d : LayerKind::AvgPool2d;
  }
  std::string describe() const override;
  Shape output_shape(const Shape& input) const override;

  std::array<int64_t, 2> kernel_size() const { return options_.kernel_size; }
  std::array<int64_t, 2> stride() const { return *options_.stride; }
  std::array<int64_t, 2> padding() const { return options_.padding; }
  ops::Pool2dParams params() const;  // the op's form of the options

 protected:
  Variable apply(const Variable& input, const StepContext& ctx) override;

 private:
  Kind kind_;
  Pool2dOptions options_;  // stride always set after construction
};

// The mean of each channel's whole map: [C, H, W] -> [C, 1, 1] (PyTorch's AdaptiveAvgPool2d(1));
// an average pool whose window and stride are the input's size, taken at forward time.
class GlobalAvgPool2d : public Module {
 public:
  static constexpr const char* kClassName = "GlobalAvgPool2d";
  static constexpr bool holds(LayerKind k) { return k == LayerKind::GlobalAvgPool2d; }
  LayerKind kind() const override { return LayerKind::GlobalAvgPool2d; }
  Shape output_shape(const Shape& input) const override;

 protected:
  Variable apply(const Variable& input, const StepContext& ctx) override;
};

class MaxPool2d : public Pool2d {
 public:
  explicit MaxPool2d(const Pool2dOptions& options) : Pool2d(Kind::Max, options) {}
};
class AvgPool2d : public Pool2d {
 public:
  explicit AvgPool2d(const Pool2dOptions& options) : Pool2d(Kind::Avg, options) {}
};

}  // namespace tinycnn::nn
