// Loss op: saves the softmax probabilities and labels; backward is (p - target) * dloss / N.
#include "ops/cross_entropy.hpp"

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "kernels/cross_entropy.hpp"

namespace tinycnn::ops {

using tensor::Tensor;

namespace {
class CrossEntropyNode : public autograd::Node {
 public:
  CrossEntropyNode(const Variable& logits, Tensor probs, std::vector<int32_t> labels,
                   float smoothing)
      : Node({logits}),
        probs_(std::move(probs)),
        labels_(std::move(labels)),
        smoothing_(smoothing) {}
  const char* name() const override { return "softmax_cross_entropy"; }
  std::vector<Tensor> backward(const Tensor& doutput) override {
    Tensor dlogits = Tensor::empty(probs_.shape());
    kernels::softmax_cross_entropy_backward(probs_.dim(0), probs_.dim(1), probs_.data(),
                                            labels_.data(), doutput[0], dlogits.data(), smoothing_);
    return {dlogits};
  }

 private:
  Tensor probs_;
  std::vector<int32_t> labels_;
  float smoothing_;
};
}  // namespace

Variable softmax_cross_entropy(const Variable& logits, const std::vector<int32_t>& labels,
                               float label_smoothing) {
  const auto& s = logits.shape();
  TCNN_CHECK(label_smoothing >= 0.0f && label_smoothing < 1.0f,
             "softmax_cross_entropy: expected a label smoothing in [0, 1), got ", label_smoothing);
  TCNN_CHECK(s.rank() == 2 && s[0] > 0 && s[1] > 0,
             "softmax_cross_entropy: expected logits [N, K], got ", s.to_string());
  TCNN_CHECK(static_cast<int64_t>(labels.size()) == s[0], "softmax_cross_entropy: expected ", s[0],
             " labels, got ", labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    TCNN_CHECK(labels[i] >= 0 && labels[i] < s[1], "softmax_cross_entropy: label ", i, " is ",
               labels[i], ", expected 0..", s[1] - 1);
  }
  Tensor probs = Tensor::empty(s);
  const double loss = kernels::softmax_cross_entropy_forward(
      s[0], s[1], logits.data().data(), labels.data(), probs.data(), label_smoothing);
  Tensor output = Tensor::full({1}, static_cast<float>(loss));
  std::shared_ptr<autograd::Node> node;
  if (autograd::should_record({&logits})) {
    node = std::make_shared<CrossEntropyNode>(logits, std::move(probs), labels, label_smoothing);
  }
  return autograd::make_result(std::move(output), std::move(node));
}

}  // namespace tinycnn::ops
