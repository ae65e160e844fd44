// The add op: the gradient passes to both inputs unchanged (masked by the fused ReLU).
#include "ops/add.hpp"

#include "autograd/engine.hpp"
#include "core/error.hpp"

namespace tinycnn::ops {

using autograd::Variable;
using tensor::Tensor;

namespace {
class AddNode : public autograd::Node {
 public:
  AddNode(const Variable& a, const Variable& b, Tensor output, bool relu)
      : Node({a, b}), output_(std::move(output)), relu_(relu) {}
  const char* name() const override { return relu_ ? "add_relu" : "add"; }
  std::vector<Tensor> backward(const Tensor& doutput) override {
    Tensor d = doutput;
    if (relu_) {
      d = Tensor::empty(doutput.shape());
      const float* y = output_.data();
      const float* g = doutput.data();
      float* out = d.data();
      for (int64_t i = 0; i < d.numel(); ++i) out[i] = y[i] > 0.0f ? g[i] : 0.0f;
    }
    return {d, d};
  }

 private:
  Tensor output_;  // for the ReLU's mask
  bool relu_;
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
    node = std::make_shared<AddNode>(a, b, relu ? output : Tensor(), relu);
  }
  return autograd::make_result(std::move(output), std::move(node));
}

}  // namespace tinycnn::ops
