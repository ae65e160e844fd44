// Gradient checker over autograd/gradcheck's finite differences. The weighted sum is a tiny
// test-only Node so autograd can start from a scalar.
#include "support/gradcheck.hpp"

#include <cmath>
#include <numeric>

#include "autograd/engine.hpp"
#include "check/finite_differences.hpp"
#include "core/rng.hpp"

namespace tinycnn::testing {

using autograd::Variable;
using tensor::Tensor;

namespace {
class WeightedSumNode : public autograd::Node {
 public:
  WeightedSumNode(const Variable& x, Tensor weights) : Node({x}), weights_(std::move(weights)) {}
  const char* name() const override { return "weighted_sum"; }
  std::vector<Tensor> backward(const Tensor& dout) override {
    Tensor d = weights_.clone();
    for (int64_t i = 0; i < d.numel(); ++i) d[i] *= dout[0];
    return {d};
  }

 private:
  Tensor weights_;
};

double weighted_sum(const Tensor& out, const Tensor& weights) {
  double acc = 0.0;
  for (int64_t i = 0; i < out.numel(); ++i) acc += static_cast<double>(out[i]) * weights[i];
  return acc;
}
}  // namespace

tensor::Tensor spaced_values(const tensor::Shape& shape, uint64_t seed, float gap) {
  Tensor t = Tensor::empty(shape);
  std::vector<int64_t> order(static_cast<size_t>(t.numel()));
  std::iota(order.begin(), order.end(), 0);
  core::Rng rng(seed);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.uniform_int(i)]);
  const float offset = gap * static_cast<float>(t.numel()) / 2.0f;
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = gap * static_cast<float>(order[i]) - offset;
  return t;
}

::testing::AssertionResult gradcheck(const OpFn& f, std::vector<Variable> inputs,
                                     const OpCheckOptions& opt) {
  for (auto& in : inputs) {
    if (in.defined()) in.zero_grad();
  }
  Variable out = f(inputs);
  core::Rng rng(opt.seed);
  const Tensor weights = Tensor::randn(out.shape(), rng);
  Variable loss(Tensor::full({1}, static_cast<float>(weighted_sum(out.data(), weights))), true);
  loss.set_grad_fn(std::make_shared<WeightedSumNode>(out, weights));
  autograd::backward(loss);

  autograd::NoGradGuard no_grad;
  // Which outputs are exactly zero: a ReLU output that is zero on one side of a nudge and not
  // on the other crossed its kink.
  const check::Objective objective = [&](std::vector<uint8_t>* signature) {
    const Tensor values = f(inputs).data();
    if (signature && opt.output_kinks) {
      signature->resize(static_cast<size_t>(values.numel()));
      for (int64_t k = 0; k < values.numel(); ++k) {
        (*signature)[static_cast<size_t>(k)] = values[k] == 0.0f;
      }
    }
    return weighted_sum(values, weights);
  };
  const check::FiniteDifferenceOptions fd{.eps = opt.eps,
                                          .all_up_to = INT64_MAX,
                                          .sample = INT64_MAX,
                                          .seed = opt.seed,
                                          .skip_below = opt.kink_band};
  int64_t checked = 0, skipped = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Variable& in = inputs[i];
    if (!in.defined() || !in.requires_grad()) continue;
    if (!in.grad().defined()) {
      return ::testing::AssertionFailure() << "input " << i << " received no gradient";
    }
    const check::FiniteDifferences d =
        check::finite_differences(in.data(), in.grad(), objective, fd);
    skipped += d.skipped;
    for (const auto& e : d.entries) {
      const double scale = std::max(std::abs(e.numeric), std::abs(e.analytic));
      if (std::abs(e.numeric - e.analytic) > opt.atol + opt.rtol * scale) {
        return ::testing::AssertionFailure()
               << "input " << i << " " << in.shape().to_string() << " element " << e.index
               << ": autograd " << e.analytic << ", finite difference " << e.numeric;
      }
      ++checked;
    }
  }
  if (checked == 0) return ::testing::AssertionFailure() << "no element was checked";
  if (skipped * 5 > checked) {
    return ::testing::AssertionFailure()
           << skipped << " elements skipped at output kinks, only " << checked << " checked";
  }
  return ::testing::AssertionSuccess() << checked << " elements checked";
}

}  // namespace tinycnn::testing
