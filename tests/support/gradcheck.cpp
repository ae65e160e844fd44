// Gradient checker. The weighted sum is a tiny test-only Node so autograd can start from a scalar.
#include "support/gradcheck.hpp"

#include <cmath>
#include <numeric>

#include "autograd/engine.hpp"
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
                                     const GradcheckOptions& opt) {
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
  auto zeros_of = [](const Tensor& t) {
    std::vector<bool> z(static_cast<size_t>(t.numel()));
    for (int64_t k = 0; k < t.numel(); ++k) z[static_cast<size_t>(k)] = t[k] == 0.0f;
    return z;
  };
  const std::vector<bool> base_zeros =
      opt.output_kinks ? zeros_of(out.data()) : std::vector<bool>{};
  int64_t checked = 0, skipped = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Variable& in = inputs[i];
    if (!in.defined() || !in.requires_grad()) continue;
    if (!in.grad().defined()) {
      return ::testing::AssertionFailure() << "input " << i << " received no gradient";
    }
    float* x = in.data().data();
    for (int64_t j = 0; j < in.data().numel(); ++j) {
      const float saved = x[j];
      if (std::abs(saved) < opt.kink_band) continue;
      x[j] = saved + static_cast<float>(opt.eps);
      const Tensor out_plus = f(inputs).data().clone();  // views share the input
      x[j] = saved - static_cast<float>(opt.eps);
      const Tensor out_minus = f(inputs).data().clone();
      x[j] = saved;
      if (opt.output_kinks &&
          (zeros_of(out_plus) != base_zeros || zeros_of(out_minus) != base_zeros)) {
        ++skipped;
        continue;
      }
      const double plus = weighted_sum(out_plus, weights);
      const double minus = weighted_sum(out_minus, weights);
      const double numeric = (plus - minus) / (2.0 * opt.eps);
      const double analytic = in.grad()[j];
      const double scale = std::max(std::abs(numeric), std::abs(analytic));
      if (std::abs(numeric - analytic) > opt.atol + opt.rtol * scale) {
        return ::testing::AssertionFailure()
               << "input " << i << " " << in.shape().to_string() << " element " << j
               << ": autograd " << analytic << ", finite difference " << numeric;
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
