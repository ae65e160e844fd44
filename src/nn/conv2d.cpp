// Conv2d: option checks, shape inference with the formula in errors, forward through ops::conv2d.
#include "nn/conv2d.hpp"

#include <sstream>

#include "core/error.hpp"
#include "nn/init.hpp"
#include "nn/spatial.hpp"
#include "ops/conv2d.hpp"

namespace tinycnn::nn {

void check_options(const Conv2dOptions& o) {
  TCNN_CHECK(o.in_channels > 0, "in_channels: expected > 0, got ", o.in_channels);
  TCNN_CHECK(o.out_channels > 0, "out_channels: expected > 0, got ", o.out_channels);
  TCNN_CHECK(o.kernel_size[0] > 0 && o.kernel_size[1] > 0, "kernel_size: expected > 0, got ",
             o.kernel_size[0], "x", o.kernel_size[1]);
  TCNN_CHECK(o.stride[0] > 0 && o.stride[1] > 0, "stride: expected > 0, got ", o.stride[0], "x",
             o.stride[1]);
  TCNN_CHECK(o.padding[0] >= 0 && o.padding[1] >= 0, "padding: expected >= 0, got ", o.padding[0],
             "x", o.padding[1]);
  TCNN_CHECK(o.groups > 0 && o.in_channels % o.groups == 0 && o.out_channels % o.groups == 0,
             "groups: expected a divisor of in_channels ", o.in_channels, " and out_channels ",
             o.out_channels, ", got ", o.groups);
}

Conv2d::Conv2d(const Conv2dOptions& o, core::Rng& rng) : options_(o) {
  try {
    check_options(o);
  } catch (const core::Error& e) {
    throw core::Error(e.kind(), std::string("conv2d ") + e.what());
  }
  if (o.init == WeightInit::None) return;
  const int64_t fan_in = o.in_channels / o.groups * o.kernel_size[0] * o.kernel_size[1];
  Tensor w =
      Tensor::empty({o.out_channels, o.in_channels / o.groups, o.kernel_size[0], o.kernel_size[1]});
  Tensor b = o.bias ? Tensor::zeros({o.out_channels}) : Tensor();
  init_parameters(o.init, w, o.bias ? &b : nullptr, fan_in, rng);
  weight_ = Variable(w, true);
  if (o.bias) bias_ = Variable(b, true);
}

std::string Conv2d::describe() const {
  // ostringstream rather than string '+': g++ 12 -O3 gives a false -Wrestrict on the latter.
  const auto& o = options_;
  std::ostringstream out;
  out << "conv2d(" << o.in_channels << "->" << o.out_channels << ", k=" << o.kernel_size[0] << "x"
      << o.kernel_size[1];
  if (o.stride[0] != 1 || o.stride[1] != 1) out << ", s=" << o.stride[0] << "x" << o.stride[1];
  if (o.padding[0] != 0 || o.padding[1] != 0) {
    out << ", p=" << o.padding[0] << "x" << o.padding[1];
  }
  if (o.groups != 1) out << ", groups=" << o.groups;
  if (!o.bias) out << ", no bias";
  out << ")";
  return out.str();
}

Shape Conv2d::output_shape(const Shape& input) const {
  TCNN_CHECK(input.rank() == 3, "conv2d: expected input [C, H, W], got ", input.to_string());
  TCNN_CHECK(input[0] == options_.in_channels, "conv2d: expected ", options_.in_channels,
             " input channels, got ", input[0], " (input ", input.to_string(), ")");
  const int64_t oh = checked_output_size(
      "conv2d height",
      {input[1], options_.kernel_size[0], options_.stride[0], options_.padding[0]});
  const int64_t ow = checked_output_size(
      "conv2d width", {input[2], options_.kernel_size[1], options_.stride[1], options_.padding[1]});
  return {options_.out_channels, oh, ow};
}

int64_t Conv2d::parameter_count() const {
  const auto& o = options_;
  return o.out_channels * (o.in_channels / o.groups) * o.kernel_size[0] * o.kernel_size[1] +
         (o.bias ? o.out_channels : 0);
}

Variable Conv2d::apply(const Variable& input, const StepContext&) {
  return ops::conv2d(input, weight_, bias_, params(input, false));
}

Variable Conv2d::forward_relu(const Variable& input) {
  return ops::conv2d(input, weight_, bias_, params(input, true));
}

Variable Conv2d::forward_relu_pool2x2(const Variable& input) {
  return ops::conv2d_relu_maxpool2x2(input, weight_, bias_, params(input, true));
}

kernels::Conv2dGeometry Conv2d::geometry(const Shape& example, int64_t batch) const {
  const auto& o = options_;
  TCNN_CHECK(example.rank() == 3, "conv2d: expected input [C, H, W], got ", example.to_string());
  return {.batch = batch,
          .in_channels = example[0],
          .in_h = example[1],
          .in_w = example[2],
          .out_channels = o.out_channels,
          .kernel_h = o.kernel_size[0],
          .kernel_w = o.kernel_size[1],
          .stride_h = o.stride[0],
          .stride_w = o.stride[1],
          .pad_h = o.padding[0],
          .pad_w = o.padding[1],
          .groups = o.groups};
}

std::shared_ptr<const kernels::ConvPlan> Conv2d::plan(const Shape& example) {
  const kernels::Conv2dGeometry g = geometry(example);
  if (!plan_ || !plan_->fits(g)) {
    plan_ = std::make_shared<const kernels::ConvPlan>(
        kernels::plan_conv2d(options_.algo, g, options_.precision));
  }
  return plan_;
}

ops::Conv2dParams Conv2d::params(const Variable& input, bool relu) {
  TCNN_CHECK(weight_.defined(), "conv2d: built without weights (shape analysis only)");
  const Shape& in = input.shape();
  TCNN_CHECK(in.rank() == 4, "conv2d: expected input [N, C, H, W], got ", in.to_string());
  return {.stride_h = options_.stride[0],
          .stride_w = options_.stride[1],
          .pad_h = options_.padding[0],
          .pad_w = options_.padding[1],
          .groups = options_.groups,
          .algo = options_.algo,
          .precision = options_.precision,
          .plan = plan(Shape{in[1], in[2], in[3]}),
          .relu = relu};
}

std::vector<NamedVariable> Conv2d::parameters() {
  if (!weight_.defined()) return {};  // built for shape analysis only
  std::vector<NamedVariable> params{{"weight", weight_}};
  if (bias_.defined()) params.push_back({"bias", bias_});
  return params;
}

}  // namespace tinycnn::nn
