// The add op: the gradient passes to both inputs unchanged (masked by the fused ReLU).
#include "ops/add.hpp"

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "kernels/relu_mask.hpp"

namespace tinycnn::ops {

using autograd::Variable;
using tensor::Tensor;

namespace {
class AddNode : public autograd::Node {
 public:
  AddNode(const Variable& a, const Variable& b, kernels::ReluMask relu)
      : Node({a, b}), relu_(std::move(relu)) {}
  const char* name() const override { return relu_.defined() ? "add_relu" : "add"; }
  std::vector<Tensor> backward(const Tensor& doutput) override {
    Tensor d = doutput;
    if (relu_.defined()) {
      d = Tensor::empty(doutput.shape());
      kernels::relu_mask_backward(relu_.row(0), d.numel(), doutput.data(), d.data());
    }
    return {d, d};
  }

 private:
  kernels::ReluMask relu_;  // with the ReLU: its mask, the whole output as one row
};
}  // namespace

Variable add(const Variable& a, const Variable& b, bool relu) {
  TCNN_CHECK(a.shape() == b.shape(), "add: shapes ", a.shape().to_string(), " and ",
             b.shape().to_string(), " differ");
  Tensor output = Tensor::empty(a.shape());
  const float* x = a.data().data();
  const float* y = b.data().data();
  float* out = output.data();
  const int64_t n = output.numel();
  if (relu) {
    for (int64_t i = 0; i < n; ++i) {
      const float s = x[i] + y[i];
      out[i] = s > 0.0f ? s : 0.0f;
    }
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] + y[i];
  }
  std::shared_ptr<autograd::Node> node;
  if (autograd::should_record({&a, &b})) {
    kernels::ReluMask mask;
    if (relu) {
      mask = kernels::ReluMask(1, n);
      kernels::relu_mask_row(out, n, mask.row(0));
    }
    node = std::make_shared<AddNode>(a, b, std::move(mask));
  }
  return autograd::make_result(std::move(output), std::move(node));
}

}  // namespace tinycnn::ops
