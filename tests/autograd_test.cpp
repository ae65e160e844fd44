// autograd: topological backward, accumulation for values used twice, no-grad mode, checks.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "ops/activation.hpp"
#include "ops/cross_entropy.hpp"
#include "ops/linear.hpp"

namespace tinycnn::autograd {
namespace {

// Test-only ops: a + b, and sum of all elements to a scalar.
class AddNode : public Node {
 public:
  AddNode(const Variable& a, const Variable& b) : Node({a, b}) {}
  const char* name() const override { return "add"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {g, g}; }
};
Variable add(const Variable& a, const Variable& b) {
  Tensor out = a.data().clone();
  out.add_(b.data());
  std::shared_ptr<Node> node;
  if (should_record({&a, &b})) node = std::make_shared<AddNode>(a, b);
  return make_result(out, node);
}
class SumNode : public Node {
 public:
  explicit SumNode(const Variable& x) : Node({x}) {}
  const char* name() const override { return "sum"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    return {Tensor::full(inputs()[0].shape(), g[0])};
  }
};
Variable sum(const Variable& x) {
  float s = 0;
  for (int64_t i = 0; i < x.data().numel(); ++i) s += x.data()[i];
  return make_result(Tensor::full({1}, s), std::make_shared<SumNode>(x));
}
class WrongShapeNode : public Node {
 public:
  explicit WrongShapeNode(const Variable& x) : Node({x}) {}
  const char* name() const override { return "wrong"; }
  std::vector<Tensor> backward(const Tensor&) override { return {Tensor::zeros({7})}; }
};

TEST(Autograd, ValueUsedTwiceGetsBothGradients) {
  Variable x(Tensor::from_vector({3}, {1, -2, 3}), true);
  Variable y = add(x, x);             // dy/dx = 2
  Variable z = add(y, ops::relu(x));  // + relu'(x)
  backward(sum(z));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{3, 2, 3}));
}

TEST(Autograd, LeafGradientsAccumulateAcrossBackwardCalls) {
  Variable x(Tensor::from_vector({2}, {1, 2}), true);
  backward(sum(x));
  backward(sum(x));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{2, 2}));
  x.zero_grad();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{0, 0}));
}

TEST(Autograd, DiamondGraphVisitsEachNodeOnce) {
  // x -> a -> (b, c) -> d: a's backward must run once, with the sum of both paths.
  Variable x(Tensor::from_vector({2}, {0.5f, 1.5f}), true);
  Variable a = ops::tanh(x);
  Variable d = add(ops::sigmoid(a), ops::relu(a));
  backward(sum(d));
  for (int i = 0; i < 2; ++i) {
    const float av = std::tanh(x.data()[i]);
    const float s = 1.0f / (1.0f + std::exp(-av));
    const float expected = (s * (1 - s) + 1.0f) * (1 - av * av);
    EXPECT_NEAR(x.grad()[i], expected, 1e-6);
  }
}

TEST(Autograd, NoGradRecordsNothing) {
  Variable x(Tensor::from_vector({2}, {1, 2}), true);
  {
    NoGradGuard guard;
    EXPECT_FALSE(grad_enabled());
    Variable y = ops::relu(x);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
  }
  EXPECT_TRUE(grad_enabled());
  EXPECT_TRUE(ops::relu(x).requires_grad());
}

TEST(Autograd, InputsWithoutRequiresGradGetNoGradient) {
  Variable x(Tensor::from_vector({1, 2}, {1, 2}), false);
  Variable w(Tensor::from_vector({1, 2}, {3, 4}), true);
  backward(sum(ops::linear(x, w, Variable())));
  EXPECT_FALSE(x.grad().defined());
  EXPECT_EQ(w.grad().to_vector(), (std::vector<float>{1, 2}));
}

TEST(Autograd, RejectsNonScalarLossAndWrongGradientShape) {
  Variable x(Tensor::from_vector({2}, {1, 2}), true);
  EXPECT_THROW(backward(ops::relu(x)), core::Error);
  Variable bad = make_result(Tensor::zeros({1}), std::make_shared<WrongShapeNode>(x));
  EXPECT_THROW(backward(bad), core::Error);
  Variable constant(Tensor::zeros({1}), false);
  EXPECT_THROW(backward(constant), core::Error);
}

TEST(Autograd, DeepChainDoesNotOverflowTheStack) {
  Variable x(Tensor::from_vector({1}, {0.5f}), true);
  Variable y = x;
  for (int i = 0; i < 100000; ++i) y = ops::relu(y);
  backward(sum(y));
  EXPECT_EQ(x.grad()[0], 1.0f);
}

TEST(Autograd, ANodeKeepsNoValueItDidNotSave) {
  // add saves nothing: once the forward is done its inputs' values belong to the caller only.
  Variable x(Tensor::from_vector({2}, {1, 2}), true);
  Variable a = ops::tanh(x);
  Variable b = add(a, x);
  const Edge& edge = b.grad_fn()->inputs()[0];
  EXPECT_EQ(edge.node(), a.grad_fn());
  EXPECT_FALSE(edge.leaf().defined());
  EXPECT_EQ(edge.shape(), a.shape());
  const Edge& leaf = b.grad_fn()->inputs()[1];
  EXPECT_EQ(leaf.node(), nullptr);
  EXPECT_EQ(leaf.leaf().id(), x.id());  // a leaf's gradient accumulates in it
}

}  // namespace
}  // namespace tinycnn::autograd
