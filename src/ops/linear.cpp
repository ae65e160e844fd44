// linear forward and backward; saved state is the input (a SavedOperand: bfloat16 in bf16) and the
// weight.
#include "ops/linear.hpp"

#include <vector>

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "kernels/linear.hpp"
#include "ops/gradient_buffers.hpp"
#include "ops/saved_operand.hpp"

namespace tinycnn::ops {

using tensor::Shape;
using tensor::Tensor;

namespace {
class LinearNode : public autograd::Node {
 public:
  LinearNode(const Variable& input, const Variable& weight, const Variable& bias,
             const kernels::LinearGeometry& g)
      : Node({input, weight, bias}),
        input_(input.data(), g.precision),
        weight_(weight.data()),
        geometry_(g) {}
  const char* name() const override { return "linear"; }
  std::vector<Tensor> backward(const Tensor& doutput) override {
    std::vector<Tensor> grads = gradient_buffers(inputs());  // input, weight, bias
    const Tensor input = input_.values();
    kernels::linear_backward(geometry_, input.data(), weight_.data(), doutput.data(),
                             data_or_null(grads[0]), data_or_null(grads[1]),
                             data_or_null(grads[2]));
    return grads;
  }

 private:
  SavedOperand input_;  // bfloat16 in bf16
  Tensor weight_;
  kernels::LinearGeometry geometry_;
};
}  // namespace

Variable linear(const Variable& input, const Variable& weight, const Variable& bias,
                kernels::Precision precision) {
  TCNN_CHECK(input.shape().rank() == 2, "linear: expected input [N, in_features], got ",
             input.shape().to_string());
  TCNN_CHECK(weight.shape().rank() == 2 && weight.shape()[1] == input.shape()[1],
             "linear: expected weight [out_features, ", input.shape()[1], "], got ",
             weight.shape().to_string());
  const kernels::LinearGeometry g{.batch = input.shape()[0],
                                  .in_features = input.shape()[1],
                                  .out_features = weight.shape()[0],
                                  .precision = precision};
  if (bias.defined()) {
    TCNN_CHECK(bias.shape() == Shape({g.out_features}), "linear: expected bias [", g.out_features,
               "], got ", bias.shape().to_string());
  }
  Tensor output = Tensor::empty({g.batch, g.out_features});
  kernels::linear_forward(g, input.data().data(), weight.data().data(),
                          bias.defined() ? bias.data().data() : nullptr, output.data());
  std::shared_ptr<autograd::Node> node;
  if (autograd::should_record({&input, &weight, &bias})) {
    node = std::make_shared<LinearNode>(input, weight, bias, g);
  }
  return autograd::make_result(std::move(output), std::move(node));
}

}  // namespace tinycnn::ops
