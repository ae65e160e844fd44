// optim: SGD (plain, momentum + weight decay, Nesterov) and Adam against hand-computed updates.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "optim/adam.hpp"
#include "optim/sgd.hpp"

namespace tinycnn::optim {
namespace {

using autograd::Variable;

// One scalar parameter p = 1 whose gradient the test sets before each step.
struct Scalar {
  Variable var{Tensor::full({1}, 1.0f), true};
  std::vector<NamedVariable> params() { return {{"p", var}}; }
  void set_grad(float g) {
    var.zero_grad();
    var.accumulate_grad(Tensor::full({1}, g));
  }
  float value() const { return var.data()[0]; }
};

TEST(SGD, Plain) {
  Scalar s;
  SGD sgd(s.params(), {.lr = 0.1});
  s.set_grad(0.5f);
  sgd.step();
  EXPECT_FLOAT_EQ(s.value(), 0.95f);
  EXPECT_TRUE(sgd.state().empty());
}

TEST(SGD, MomentumWithWeightDecay) {
  Scalar s;
  SGD sgd(s.params(), {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1});
  s.set_grad(0.5f);
  sgd.step();  // g = 0.5 + 0.1*1 = 0.6, buf = 0.6, p = 1 - 0.06
  EXPECT_FLOAT_EQ(s.value(), 0.94f);
  s.set_grad(0.5f);
  sgd.step();  // g = 0.5 + 0.094 = 0.594, buf = 0.54 + 0.594 = 1.134, p = 0.94 - 0.1134
  EXPECT_FLOAT_EQ(s.value(), 0.8266f);
  ASSERT_EQ(sgd.state().size(), 1u);
  EXPECT_EQ(sgd.state()[0].name, "p.momentum");
  EXPECT_FLOAT_EQ((*sgd.state()[0].tensor)[0], 1.134f);
}

TEST(SGD, Nesterov) {
  Scalar s;
  SGD sgd(s.params(), {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  s.set_grad(0.5f);
  sgd.step();  // buf = 0.5, step = 0.5 + 0.45 = 0.95
  EXPECT_FLOAT_EQ(s.value(), 0.905f);
  s.set_grad(0.5f);
  sgd.step();  // buf = 0.45 + 0.5 = 0.95, step = 0.5 + 0.855 = 1.355
  EXPECT_FLOAT_EQ(s.value(), 0.7695f);
}

TEST(SGD, SkipsParametersWithoutGradientAndRejectsBadOptions) {
  Scalar s;
  SGD sgd(s.params(), {.lr = 0.1, .momentum = 0.9});
  sgd.step();
  EXPECT_EQ(s.value(), 1.0f);
  EXPECT_THROW(SGD(s.params(), {.lr = -1.0}), core::Error);
  EXPECT_THROW(SGD(s.params(), {.lr = 0.1, .nesterov = true}), core::Error);
}

TEST(Adam, BiasCorrectedSteps) {
  Scalar s;
  Adam adam(s.params(), {.lr = 0.1});
  s.set_grad(0.5f);
  adam.step();  // m^ = 0.5, v^ = 0.25: p = 1 - 0.1 * 0.5 / 0.5
  EXPECT_NEAR(s.value(), 0.9, 1e-6);
  s.set_grad(-0.25f);
  adam.step();  // m = 0.02, v = 3.1225e-4, bc1 = 0.19, bc2 = 0.001999
  EXPECT_NEAR(s.value(), 0.8733663, 1e-6);
  EXPECT_EQ(adam.step_count(), 2);
  ASSERT_EQ(adam.state().size(), 2u);
  EXPECT_EQ(adam.state()[0].name, "p.exp_avg");
  EXPECT_EQ(adam.state()[1].name, "p.exp_avg_sq");
}

TEST(Adam, WeightDecayIsAddedToTheGradient) {
  Scalar s;
  Adam adam(s.params(), {.lr = 0.01, .weight_decay = 0.01});
  s.set_grad(0.5f);
  adam.step();  // first step moves by lr whatever the gradient's size
  EXPECT_NEAR(s.value(), 0.99, 1e-6);
  EXPECT_THROW(Adam(s.params(), {.beta1 = 1.0}), core::Error);
}

}  // namespace
}  // namespace tinycnn::optim
