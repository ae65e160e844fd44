// Loss op: saves the softmax probabilities and labels; backward is (p - target) * dloss / N.
#include "ops/cross_entropy.hpp"

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "kernels/cross_entropy.hpp"

namespace tinycnn::ops {

using tensor::Tensor;

namespace {
kernels::MixedTargets mixed_targets(std::span<const int32_t> other, std::span<const float> lambda) {
  if (lambda.empty()) return {};
  return {.other = other.data(), .lambda = lambda.data()};
}

class CrossEntropyNode : public autograd::Node {
 public:
  CrossEntropyNode(const Variable& logits, Tensor probs, std::vector<int32_t> labels,
                   float smoothing, std::vector<int32_t> other, std::vector<float> lambda)
      : Node({logits}),
        probs_(std::move(probs)),
        labels_(std::move(labels)),
        smoothing_(smoothing),
        other_(std::move(other)),
        lambda_(std::move(lambda)) {}
  const char* name() const override { return "softmax_cross_entropy"; }
  std::vector<Tensor> backward(const Tensor& doutput) override {
    Tensor dlogits = Tensor::empty(probs_.shape());
    kernels::softmax_cross_entropy_backward(probs_.dim(0), probs_.dim(1), probs_.data(),
                                            labels_.data(), doutput[0], dlogits.data(), smoothing_,
                                            mixed_targets(other_, lambda_));
    return {dlogits};
  }

 private:
  Tensor probs_;
  std::vector<int32_t> labels_;
  float smoothing_;
  std::vector<int32_t> other_;  // mixed targets, or empty
  std::vector<float> lambda_;
};
}  // namespace

Variable softmax_cross_entropy(const Variable& logits, const std::vector<int32_t>& labels,
                               float label_smoothing, std::span<const int32_t> other,
                               std::span<const float> lambda) {
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
  TCNN_CHECK(other.size() == lambda.size() && (lambda.empty() || other.size() == labels.size()),
             "softmax_cross_entropy: expected ", labels.size(),
             " mixed labels and weights (or none), got ", other.size(), " and ", lambda.size());
  for (size_t i = 0; i < other.size(); ++i) {
    TCNN_CHECK(other[i] >= 0 && other[i] < s[1] && lambda[i] >= 0.0f && lambda[i] <= 1.0f,
               "softmax_cross_entropy: mixed target ", i, " is ", lambda[i], " on ", labels[i],
               " and the rest on ", other[i], ", expected a weight in [0, 1] and a label 0..",
               s[1] - 1);
  }
  Tensor probs = Tensor::empty(s);
  const double loss = kernels::softmax_cross_entropy_forward(
      s[0], s[1], logits.data().data(), labels.data(), probs.data(), label_smoothing,
      mixed_targets(other, lambda));
  Tensor output = Tensor::full({1}, static_cast<float>(loss));
  std::shared_ptr<autograd::Node> node;
  if (autograd::should_record({&logits})) {
    node = std::make_shared<CrossEntropyNode>(logits, std::move(probs), labels, label_smoothing,
                                              std::vector<int32_t>(other.begin(), other.end()),
                                              std::vector<float>(lambda.begin(), lambda.end()));
  }
  return autograd::make_result(std::move(output), std::move(node));
}

}  // namespace tinycnn::ops
