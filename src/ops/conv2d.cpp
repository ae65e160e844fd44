// conv2d forward and backward side by side. Saved state: the input (a SavedOperand: bfloat16 in
// bf16) and the weight (both needed for dweight / dinput), the geometry and the plan; with a
// fused ReLU its output.
#include "ops/conv2d.hpp"

#include <vector>

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "kernels/conv2d.hpp"
#include "ops/gradient_buffers.hpp"
#include "ops/saved_operand.hpp"

namespace tinycnn::ops {

using tensor::Shape;
using tensor::Tensor;

namespace {
class Conv2dNode : public autograd::Node {
 public:
  Conv2dNode(const Variable& input, const Variable& weight, const Variable& bias,
             const kernels::Conv2dGeometry& geometry, std::shared_ptr<const kernels::ConvPlan> plan,
             Tensor columns, Tensor relu_output)
      : Node({input, weight, bias}),
        input_(input.data(), plan->precision),
        weight_(weight.data()),
        geometry_(geometry),
        plan_(std::move(plan)),
        columns_(std::move(columns)),
        relu_output_(std::move(relu_output)) {}

  const char* name() const override { return relu_output_.defined() ? "conv2d+relu" : "conv2d"; }

  std::vector<Tensor> backward(const Tensor& doutput) override {
    std::vector<Tensor> grads = gradient_buffers(inputs());  // input, weight, bias
    kernels::conv2d_backward(*plan_, geometry_, input_.kept(), weight_.data(), doutput.data(),
                             data_or_null(grads[0]), data_or_null(grads[1]), data_or_null(grads[2]),
                             data_or_null(columns_), data_or_null(relu_output_));
    return grads;
  }

 private:
  SavedOperand input_;
  Tensor weight_;
  kernels::Conv2dGeometry geometry_;
  std::shared_ptr<const kernels::ConvPlan> plan_;
  Tensor columns_;      // im2col only: the forward's column matrices, reused by dweight
  Tensor relu_output_;  // with a fused ReLU: the output, whose sign masks the gradient
};
// conv2d + ReLU + 2x2 max pool: saves the input and weight (via the inputs), the pooled output
// and its argmax; the full convolution output is never kept.
class Conv2dReluPoolNode : public autograd::Node {
 public:
  Conv2dReluPoolNode(const Variable& input, const Variable& weight, const Variable& bias,
                     const kernels::Conv2dGeometry& geometry,
                     std::shared_ptr<const kernels::ConvPlan> plan, Tensor pooled,
                     std::vector<int32_t> argmax)
      : Node({input, weight, bias}),
        input_(input.data(), plan->precision),
        weight_(weight.data()),
        geometry_(geometry),
        plan_(std::move(plan)),
        pooled_(std::move(pooled)),
        argmax_(std::move(argmax)) {}

  const char* name() const override { return "conv2d+relu+maxpool2d"; }

  std::vector<Tensor> backward(const Tensor& dpooled) override {
    std::vector<Tensor> grads = gradient_buffers(inputs());  // input, weight, bias
    kernels::conv2d_relu_pool_backward(
        *plan_, geometry_, input_.kept(), weight_.data(), pooled_.data(), argmax_.data(),
        dpooled.data(), data_or_null(grads[0]), data_or_null(grads[1]), data_or_null(grads[2]));
    return grads;
  }

 private:
  SavedOperand input_;
  Tensor weight_;
  kernels::Conv2dGeometry geometry_;
  std::shared_ptr<const kernels::ConvPlan> plan_;
  Tensor pooled_;
  std::vector<int32_t> argmax_;
};
}  // namespace

kernels::Conv2dGeometry conv2d_geometry(const Shape& input, const Shape& weight,
                                        const Conv2dParams& p) {
  TCNN_CHECK(input.rank() == 4, "conv2d: expected input [N, C, H, W], got ", input.to_string());
  TCNN_CHECK(weight.rank() == 4, "conv2d: expected weight [OC, C/groups, KH, KW], got ",
             weight.to_string());
  kernels::Conv2dGeometry g{.batch = input[0],
                            .in_channels = input[1],
                            .in_h = input[2],
                            .in_w = input[3],
                            .out_channels = weight[0],
                            .kernel_h = weight[2],
                            .kernel_w = weight[3],
                            .stride_h = p.stride_h,
                            .stride_w = p.stride_w,
                            .pad_h = p.pad_h,
                            .pad_w = p.pad_w,
                            .groups = p.groups};
  g.check();
  TCNN_CHECK(weight[1] * p.groups == input[1], "conv2d: weight ", weight.to_string(),
             " with groups ", p.groups, " expects ", weight[1] * p.groups, " input channels, got ",
             input[1]);
  return g;
}

std::shared_ptr<const kernels::ConvPlan> conv_plan(const kernels::Conv2dGeometry& g,
                                                   const Conv2dParams& params) {
  if (params.plan) return params.plan;
  return std::make_shared<const kernels::ConvPlan>(
      kernels::plan_conv2d(params.algo, g, params.precision));
}

namespace {
// The geometry of the operands, the bias (if any) checked against it.
kernels::Conv2dGeometry checked_geometry(const Variable& input, const Variable& weight,
                                         const Variable& bias, const Conv2dParams& params) {
  const kernels::Conv2dGeometry g = conv2d_geometry(input.shape(), weight.shape(), params);
  if (bias.defined()) {
    TCNN_CHECK(bias.shape() == Shape({g.out_channels}), "conv2d: expected bias [", g.out_channels,
               "], got ", bias.shape().to_string());
  }
  return g;
}
}  // namespace

Variable conv2d(const Variable& input, const Variable& weight, const Variable& bias,
                const Conv2dParams& params) {
  const kernels::Conv2dGeometry g = checked_geometry(input, weight, bias, params);
  Tensor output = Tensor::empty({g.batch, g.out_channels, g.out_h(), g.out_w()});
  const bool record = autograd::should_record({&input, &weight, &bias});
  std::shared_ptr<const kernels::ConvPlan> plan = conv_plan(g, params);
  const int64_t columns_numel = plan->saved_columns(g.batch);
  Tensor columns;
  if (record && weight.requires_grad() && columns_numel > 0) {
    columns = Tensor::empty({columns_numel});
  }
  kernels::conv2d_forward(*plan, g, input.data().data(), weight.data().data(),
                          bias.defined() ? bias.data().data() : nullptr, output.data(),
                          data_or_null(columns), params.relu);
  std::shared_ptr<autograd::Node> node;
  if (record) {
    node = std::make_shared<Conv2dNode>(input, weight, bias, g, std::move(plan), columns,
                                        params.relu ? output : Tensor());
  }
  return autograd::make_result(std::move(output), std::move(node));
}

Variable conv2d_relu_maxpool2x2(const Variable& input, const Variable& weight, const Variable& bias,
                                const Conv2dParams& params) {
  const kernels::Conv2dGeometry g = checked_geometry(input, weight, bias, params);
  TCNN_CHECK(g.out_h() >= 2 && g.out_w() >= 2,
             "conv2d + maxpool2d 2x2: expected a convolution "
             "output of at least 2x2, got ",
             g.out_h(), "x", g.out_w());
  Tensor pooled = Tensor::empty({g.batch, g.out_channels, g.out_h() / 2, g.out_w() / 2});
  std::vector<int32_t> argmax(static_cast<size_t>(pooled.numel()));
  std::shared_ptr<const kernels::ConvPlan> plan = conv_plan(g, params);
  kernels::conv2d_relu_pool_forward(*plan, g, input.data().data(), weight.data().data(),
                                    bias.defined() ? bias.data().data() : nullptr, pooled.data(),
                                    argmax.data());
  std::shared_ptr<autograd::Node> node;
  if (autograd::should_record({&input, &weight, &bias})) {
    node = std::make_shared<Conv2dReluPoolNode>(input, weight, bias, g, std::move(plan), pooled,
                                                std::move(argmax));
  }
  return autograd::make_result(std::move(pooled), std::move(node));
}

}  // namespace tinycnn::ops
