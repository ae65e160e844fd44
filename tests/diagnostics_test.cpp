// train::GradientFlowProbe: what the training loop records about a step (gradient norms,
// update ratios, dead ReLUs), on a case small enough to work out by hand.
#include "train/diagnostics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "autograd/engine.hpp"
#include "model/builder.hpp"
#include "ops/cross_entropy.hpp"
#include "optim/sgd.hpp"
#include "train/data_parallel.hpp"

// Gradient-flow diagnostics on a hand-made case: plain SGD moves w by lr * g, so the update
// ratio is lr * ||g|| / ||w_after||; a ReLU fed by a bias of -100 is dead for every example.

namespace tinycnn::train {
namespace {
TEST(GradientFlow, NormsUpdateRatioAndDeadUnitsByHand) {
  const model::ModelSpec spec = model::parse_config(nlohmann::json::parse(R"({
    "name": "flow", "input": {"channels": 1, "height": 2, "width": 2},
    "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 4}, {"type": "relu"},
               {"type": "linear", "out_features": 3}],
    "training": {"weight_init": "pytorch"}})"));
  auto model = model::build_model(spec);
  auto params = model->parameters();  // layers.1.weight, layers.1.bias, layers.3.*
  params[1].var.data()[0] = -100.0f;  // units 0 and 2 of the ReLU never fire
  params[1].var.data()[2] = -100.0f;
  core::Rng rng(5);
  const tensor::Tensor images = tensor::Tensor::randn({6, 1, 2, 2}, rng);
  DataParallelStep step(spec, *model, 1);
  step.run(images, {0, 1, 2, 0, 1, 2});
  double g1 = 0;
  for (size_t j : {0u, 1u}) {
    const tensor::Tensor& g = params[j].var.grad();
    for (int64_t i = 0; i < g.numel(); ++i) g1 += static_cast<double>(g[i]) * g[i];
  }
  GradientFlowProbe probe;
  probe.before_step(*model);
  optim::SGD sgd(model->parameters(), {.lr = 0.5});
  sgd.step();
  const auto d = probe.after_step(*model, images);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].layer, "layers.1");
  EXPECT_NEAR(d[0].grad_norm, std::sqrt(g1), 1e-6);
  double w1 = 0;
  for (size_t j : {0u, 1u}) {
    const tensor::Tensor& w = params[j].var.data();
    for (int64_t i = 0; i < w.numel(); ++i) w1 += static_cast<double>(w[i]) * w[i];
  }
  EXPECT_NEAR(d[0].weight_norm, std::sqrt(w1), 1e-4);
  EXPECT_NEAR(d[0].update_ratio, 0.5 * std::sqrt(g1) / std::sqrt(w1), 1e-6);
  EXPECT_EQ(d[1].layer, "layers.3");
  EXPECT_EQ(d[2].layer, "layers.2");
  EXPECT_DOUBLE_EQ(d[2].dead_fraction, 0.5);

  const auto warnings = gradient_flow_warnings(
      {{.layer = "a", .type = "conv2d", .grad_norm = 1e-9, .weight_norm = 1.0, .update_ratio = 0},
       {.layer = "b", .type = "linear", .grad_norm = 1, .weight_norm = 1, .update_ratio = 0.5},
       {.layer = "c", .type = "linear", .grad_norm = 1, .weight_norm = 1, .update_ratio = 0.01},
       {.layer = "d", .type = "relu", .dead_fraction = 1.0}});
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("a (conv2d): the gradient vanishes"), std::string::npos);
  EXPECT_NE(warnings[1].find("b (linear): the update explodes"), std::string::npos);
}
}  // namespace
}  // namespace tinycnn::train
