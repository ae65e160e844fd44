// Conv2d layer: weight [out_channels, in_channels/groups, kh, kw], bias [out_channels].
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "core/rng.hpp"
#include "kernels/conv2d.hpp"
#include "nn/init.hpp"
#include "nn/module.hpp"
#include "ops/conv2d.hpp"

namespace tinycnn::nn {

struct Conv2dOptions;
// Throws core::Error (Invalid) whose message starts with the option's name ("groups: expected a
// divisor of in_channels 6 and out_channels 16, got 4"), so a config reader can prefix its path.
void check_options(const Conv2dOptions& options);

struct Conv2dOptions {
  int64_t in_channels = 0;                   // required
  int64_t out_channels = 0;                  // required
  std::array<int64_t, 2> kernel_size{1, 1};  // [kh, kw]
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};
  int64_t groups = 1;  // == in_channels: depthwise
  bool bias = true;
  kernels::ConvAlgo algo = kernels::ConvAlgo::Im2col;
  kernels::Precision precision = kernels::Precision::Float32;  // of the products
  WeightInit init = WeightInit::HeNormal;
};

class Conv2d : public Module {
 public:
  static constexpr const char* kClassName = "Conv2d";
  static constexpr bool holds(LayerKind k) { return k == LayerKind::Conv2d; }
  // Weights and bias drawn from rng by options.init. Throws on inconsistent options.
  Conv2d(const Conv2dOptions& options, core::Rng& rng);

  LayerKind kind() const override { return LayerKind::Conv2d; }
  std::string describe() const override;
  Shape output_shape(const Shape& input) const override;
  // forward followed by a ReLU, as one op (the ReLU in the convolution's stores; its backward
  // masks the gradient inside the convolution's): what Sequential runs for conv2d + relu.
  Variable forward_relu(const Variable& input);
  // forward, ReLU and a 2x2 / stride 2 max pool as one op (Sequential's conv2d + relu +
  // maxpool2d): the pooled output.
  Variable forward_relu_pool2x2(const Variable& input);
  std::vector<NamedVariable> parameters() override;
  int64_t parameter_count() const override;

  const Conv2dOptions& options() const { return options_; }
  // The kernels' geometry for `batch` examples of shape [C, H, W].
  kernels::Conv2dGeometry geometry(const Shape& example, int64_t batch = 1) const;
  // The convolution's plan (kernels/conv_plan.hpp) for a per-example input [C, H, W]: made the
  // first time the layer sees that shape (again only if another comes), then kept.
  std::shared_ptr<const kernels::ConvPlan> plan(const Shape& example);
  Variable& weight() { return weight_; }
  Variable& bias() { return bias_; }

 protected:
  Variable apply(const Variable& input, const StepContext& ctx) override;

 private:
  ops::Conv2dParams params(const Variable& input, bool relu);

  Conv2dOptions options_;
  Variable weight_;
  Variable bias_;  // undefined when options_.bias is false
  std::shared_ptr<const kernels::ConvPlan> plan_;
};

}  // namespace tinycnn::nn
