// Activation ops. Each node saves its OUTPUT, which is all the backward needs.
#include "ops/activation.hpp"

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "kernels/elementwise.hpp"

namespace tinycnn::ops {

using tensor::Tensor;

namespace {
using Forward = void (*)(int64_t, const float*, float*);
using Backward = void (*)(int64_t, const float*, const float*, float*);

class ActivationNode : public autograd::Node {
 public:
  ActivationNode(const Variable& input, Tensor output, const char* name, Backward backward_kernel)
      : Node({input}), output_(std::move(output)), name_(name), backward_(backward_kernel) {}
  const char* name() const override { return name_; }
  std::vector<Tensor> backward(const Tensor& doutput) override {
    Tensor dinput = Tensor::empty(output_.shape());
    backward_(output_.numel(), output_.data(), doutput.data(), dinput.data());
    return {dinput};
  }

 private:
  Tensor output_;
  const char* name_;
  Backward backward_;
};

Variable activation(const Variable& input, const char* name, Forward forward, Backward backward) {
  Tensor output = Tensor::empty(input.shape());
  forward(output.numel(), input.data().data(), output.data());
  std::shared_ptr<autograd::Node> node;
  if (autograd::should_record({&input})) {
    node = std::make_shared<ActivationNode>(input, output, name, backward);
  }
  return autograd::make_result(std::move(output), std::move(node));
}

class DropoutNode : public autograd::Node {
 public:
  DropoutNode(const Variable& input, Tensor mask) : Node({input}), mask_(std::move(mask)) {}
  const char* name() const override { return "dropout"; }
  std::vector<Tensor> backward(const Tensor& doutput) override {
    Tensor dinput = Tensor::empty(mask_.shape());
    kernels::mask_multiply(mask_.numel(), doutput.data(), mask_.data(), dinput.data());
    return {dinput};
  }

 private:
  Tensor mask_;
};
}  // namespace

Variable relu(const Variable& input) {
  return activation(input, "relu", kernels::relu_forward, kernels::relu_backward);
}
Variable tanh(const Variable& input) {
  return activation(input, "tanh", kernels::tanh_forward, kernels::tanh_backward);
}
Variable sigmoid(const Variable& input) {
  return activation(input, "sigmoid", kernels::sigmoid_forward, kernels::sigmoid_backward);
}

Variable dropout(const Variable& input, float p, core::Rng& rng) {
  TCNN_CHECK(p >= 0.0f && p < 1.0f, "dropout: expected p in [0, 1), got ", p);
  Tensor mask = Tensor::empty(input.shape());
  const float keep_scale = 1.0f / (1.0f - p);
  for (int64_t i = 0; i < mask.numel(); ++i) mask[i] = rng.uniform() < p ? 0.0f : keep_scale;
  Tensor output = Tensor::empty(input.shape());
  kernels::mask_multiply(output.numel(), input.data().data(), mask.data(), output.data());
  std::shared_ptr<autograd::Node> node;
  if (autograd::should_record({&input})) node = std::make_shared<DropoutNode>(input, mask);
  return autograd::make_result(std::move(output), std::move(node));
}

}  // namespace tinycnn::ops
