// Finite-difference gradient checks of every op on awkward shapes.
#include "support/gradcheck.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "autograd/engine.hpp"
#include "core/rng.hpp"
#include "model/builder.hpp"
#include "nn/conv2d.hpp"
#include "nn/linear.hpp"
#include "nn/pooling.hpp"
#include "nn/simple_layers.hpp"
#include "ops/activation.hpp"
#include "ops/add.hpp"
#include "ops/batchnorm.hpp"
#include "ops/conv2d.hpp"
#include "ops/cross_entropy.hpp"
#include "ops/groupnorm.hpp"
#include "ops/linear.hpp"
#include "ops/pooling.hpp"
#include "ops/reshape.hpp"

namespace tinycnn::ops {
namespace {

using tensor::Shape;
using tensor::Tensor;
using testing::gradcheck;

Variable param(const Shape& shape, uint64_t seed, float stddev = 1.0f) {
  core::Rng rng(seed);
  return Variable(Tensor::randn(shape, rng, stddev), true);
}

struct ConvGradCase {
  std::string name;
  Shape input;   // [N, C, H, W]
  Shape weight;  // [OC, C/groups, KH, KW]
  Conv2dParams params;
  bool bias;
};

class ConvGradcheck : public ::testing::TestWithParam<ConvGradCase> {};

TEST_P(ConvGradcheck, EveryAlgorithm) {
  for (auto algo : kernels::kConvAlgos) {
    const auto& c = GetParam();
    Conv2dParams params = c.params;
    params.algo = algo;
    // Planned once, as a layer plans it: every call of the check runs the same plan.
    params.plan = std::make_shared<const kernels::ConvPlan>(
        kernels::plan_conv2d(algo, conv2d_geometry(c.input, c.weight, params)));
    std::vector<Variable> inputs{param(c.input, 1), param(c.weight, 2, 0.5f),
                                 c.bias ? param({c.weight[0]}, 3) : Variable()};
    // A fused ReLU has a kink at every output: elements whose nudges cross one are skipped.
    const testing::OpCheckOptions options{.output_kinks = params.relu};
    EXPECT_TRUE(
        gradcheck([&](const std::vector<Variable>& v) { return conv2d(v[0], v[1], v[2], params); },
                  inputs, options))
        << kernels::to_string(algo);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Awkward, ConvGradcheck,
    ::testing::Values(
        ConvGradCase{"nonsquare_pad1", {2, 2, 5, 4}, {3, 2, 3, 3}, {.pad_h = 1, .pad_w = 1}, true},
        ConvGradCase{
            "stride2_rect", {1, 2, 7, 6}, {2, 2, 3, 2}, {.stride_h = 2, .stride_w = 2}, true},
        ConvGradCase{"pointwise", {2, 3, 3, 4}, {2, 3, 1, 1}, {}, false},
        ConvGradCase{"kernel_equals_input", {2, 2, 4, 4}, {3, 2, 4, 4}, {}, true},
        ConvGradCase{
            "groups", {1, 4, 5, 5}, {4, 2, 3, 3}, {.pad_h = 1, .pad_w = 1, .groups = 2}, true},
        // a fused ReLU: the wide path, and the pixel-major one (16 channels, narrow rows)
        ConvGradCase{
            "fused_relu", {2, 2, 5, 4}, {3, 2, 3, 3}, {.pad_h = 1, .pad_w = 1, .relu = true}, true},
        ConvGradCase{"fused_relu_pixel_major", {1, 2, 6, 5}, {16, 2, 3, 3}, {.relu = true}, true},
        ConvGradCase{"depthwise_stride2",
                     {2, 3, 6, 5},
                     {3, 1, 3, 3},
                     {.stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1, .groups = 3},
                     true}),
    [](const auto& test_param) { return test_param.param.name; });

TEST(Gradcheck, FusedConvReluMaxPool) {
  // conv2d + ReLU + 2x2 max pool as one op, every algorithm: the wide path with an odd output
  // (a row and a column no window covers) and the pixel-major one. Nudges that cross a ReLU kink
  // (an output onto or off zero) are skipped; eps small enough that no window's maximum changes
  // hands here.
  struct Case {
    Shape input, weight;
    Conv2dParams params;
  };
  for (const Case& c : {Case{{2, 2, 5, 6}, {3, 2, 3, 3}, {.pad_h = 1, .pad_w = 1}},
                        Case{{1, 2, 7, 6}, {16, 2, 3, 3}, {}}}) {
    for (auto algo : kernels::kConvAlgos) {
      Conv2dParams params = c.params;
      params.algo = algo;
      params.plan = std::make_shared<const kernels::ConvPlan>(
          kernels::plan_conv2d(algo, conv2d_geometry(c.input, c.weight, params)));
      std::vector<Variable> inputs{param(c.input, 11), param(c.weight, 12, 0.5f),
                                   param({c.weight[0]}, 13)};
      EXPECT_TRUE(gradcheck(
          [&](const std::vector<Variable>& v) {
            return conv2d_relu_maxpool2x2(v[0], v[1], v[2], params);
          },
          inputs, {.eps = 1e-3, .rtol = 2e-2, .atol = 2e-3, .output_kinks = true}))
          << kernels::to_string(algo) << " " << c.weight.to_string();
    }
  }
}

struct PoolGradCase {
  std::string name;
  Shape input;
  Pool2dParams params;
};

class PoolGradcheck : public ::testing::TestWithParam<PoolGradCase> {};

TEST_P(PoolGradcheck, MaxAndAvg) {
  const auto& c = GetParam();
  // Values 0.1 apart: a nudge of eps = 0.01 never changes which element is the max.
  std::vector<Variable> inputs{Variable(testing::spaced_values(c.input, 9), true)};
  EXPECT_TRUE(gradcheck([&](const auto& v) { return maxpool2d(v[0], c.params); }, inputs)) << "max";
  EXPECT_TRUE(gradcheck([&](const auto& v) { return avgpool2d(v[0], c.params); }, inputs)) << "avg";
}

INSTANTIATE_TEST_SUITE_P(
    Awkward, PoolGradcheck,
    ::testing::Values(
        PoolGradCase{"k2s2", {2, 2, 4, 6}, {}},
        PoolGradCase{
            "k3s2p1_nonsquare",
            {1, 2, 7, 5},
            {.kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1}},
        PoolGradCase{"overlapping_k3s1",
                     {1, 1, 5, 5},
                     {.kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1}},
        PoolGradCase{"truncating_odd", {1, 2, 5, 7}, {}},
        PoolGradCase{"rect_window",
                     {1, 1, 6, 6},
                     {.kernel_h = 3, .kernel_w = 2, .stride_h = 3, .stride_w = 2}},
        PoolGradCase{"kernel_equals_input",
                     {2, 1, 3, 3},
                     {.kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1}}),
    [](const auto& test_param) { return test_param.param.name; });

TEST(Gradcheck, Linear) {
  std::vector<Variable> inputs{param({3, 7}, 1), param({4, 7}, 2), param({4}, 3)};
  EXPECT_TRUE(gradcheck([](const auto& v) { return linear(v[0], v[1], v[2]); }, inputs));
  std::vector<Variable> no_bias{param({1, 1}, 4), param({2, 1}, 5), Variable()};
  EXPECT_TRUE(gradcheck([](const auto& v) { return linear(v[0], v[1], v[2]); }, no_bias));
}

TEST(Gradcheck, ReluSkippingTheKink) {
  std::vector<Variable> inputs{param({2, 3, 5}, 11)};
  EXPECT_TRUE(gradcheck([](const auto& v) { return relu(v[0]); }, inputs, {.kink_band = 0.05}));
}

TEST(Gradcheck, TanhAndSigmoid) {
  std::vector<Variable> inputs{param({3, 4, 2}, 12, 2.0f)};
  EXPECT_TRUE(gradcheck([](const auto& v) { return tanh(v[0]); }, inputs, {.eps = 1e-3}));
  EXPECT_TRUE(gradcheck([](const auto& v) { return sigmoid(v[0]); }, inputs, {.eps = 1e-3}));
}

TEST(Gradcheck, FlattenAndReshape) {
  std::vector<Variable> inputs{param({2, 3, 2, 2}, 13)};
  EXPECT_TRUE(gradcheck([](const auto& v) { return flatten(v[0]); }, inputs));
  EXPECT_TRUE(gradcheck([](const auto& v) { return reshape(v[0], {4, 6}); }, inputs));
}

TEST(Gradcheck, DropoutWithAFixedMask) {
  std::vector<Variable> inputs{param({4, 5}, 14)};
  EXPECT_TRUE(gradcheck(
      [](const auto& v) {
        core::Rng rng(3);  // same mask on every evaluation
        return dropout(v[0], 0.4f, rng);
      },
      inputs));
}

TEST(Gradcheck, SoftmaxCrossEntropy) {
  std::vector<Variable> inputs{param({5, 4}, 15, 3.0f)};
  const std::vector<int32_t> labels{0, 3, 1, 1, 2};
  EXPECT_TRUE(gradcheck([&](const auto& v) { return softmax_cross_entropy(v[0], labels); }, inputs,
                        {.eps = 1e-3}));
}

TEST(Gradcheck, SoftmaxCrossEntropyWithLabelSmoothing) {
  std::vector<Variable> inputs{param({5, 4}, 16, 3.0f)};
  const std::vector<int32_t> labels{0, 3, 1, 1, 2};
  EXPECT_TRUE(gradcheck([&](const auto& v) { return softmax_cross_entropy(v[0], labels, 0.25f); },
                        inputs, {.eps = 1e-3}));
  EXPECT_THROW(softmax_cross_entropy(inputs[0], labels, 1.0f), core::Error);
  EXPECT_THROW(softmax_cross_entropy(inputs[0], labels, -0.1f), core::Error);
}

TEST(Gradcheck, SoftmaxCrossEntropyWithMixedTargets) {
  std::vector<Variable> inputs{param({5, 4}, 17, 3.0f)};
  const std::vector<int32_t> labels{0, 3, 1, 1, 2}, other{2, 3, 0, 1, 1};
  const std::vector<float> lambda{0.7f, 0.2f, 1.0f, 0.0f, 0.5f};
  for (const float smoothing : {0.0f, 0.1f}) {
    EXPECT_TRUE(gradcheck(
        [&](const auto& v) {
          return softmax_cross_entropy(v[0], labels, smoothing, other, lambda);
        },
        inputs, {.eps = 1e-3}))
        << smoothing;
  }
}

TEST(Gradcheck, ChainedSmallCnn) {
  // conv -> tanh -> avgpool -> flatten -> linear -> loss, all gradients at once. The smooth
  // activation and pooling keep every nudge away from kinks; relu and max are checked above.
  const std::vector<int32_t> labels{1, 0};
  std::vector<Variable> inputs{param({2, 1, 6, 6}, 16), param({3, 1, 3, 3}, 17, 0.5f),
                               param({3}, 18, 0.1f), param({2, 27}, 19, 0.5f), param({2}, 20)};
  EXPECT_TRUE(gradcheck(
      [&](const auto& v) {
        Variable h = tanh(conv2d(v[0], v[1], v[2], {.pad_h = 1, .pad_w = 1}));
        h = flatten(avgpool2d(h, {}));
        return softmax_cross_entropy(linear(h, v[3], v[4]), labels);
      },
      inputs, {.eps = 1e-3, .rtol = 5e-2, .atol = 2e-3}));
}

}  // namespace
}  // namespace tinycnn::ops

// Batch norm (training mode, batch statistics; affine on and off) and the residual add.
namespace tinycnn::ops {
namespace {
TEST(BatchNormGradcheck, TrainingAndEvalModes) {
  for (bool training : {true, false}) {
    for (bool affine : {true, false}) {
      BatchNormRunning running{.mean = Tensor::zeros({3}), .var = Tensor::full({3}, 2.0f)};
      std::vector<Variable> inputs =
          affine ? std::vector<Variable>{param({4, 3, 3, 2}, 41), param({3}, 42), param({3}, 43)}
                 : std::vector<Variable>{param({4, 3, 3, 2}, 41)};
      EXPECT_TRUE(gradcheck(
          [&](const std::vector<Variable>& v) {
            return batch_norm(v[0], affine ? v[1] : Variable(), affine ? v[2] : Variable(), running,
                              {.training = training});
          },
          inputs, {.eps = 1e-2, .rtol = 2e-2, .atol = 1e-3}))
          << "training " << training << ", affine " << affine;
      EXPECT_TRUE(gradcheck(
          [&](const std::vector<Variable>& v) {
            return batch_norm(v[0], affine ? v[1] : Variable(), affine ? v[2] : Variable(), running,
                              {.training = training, .relu = true});
          },
          inputs, {.eps = 1e-2, .rtol = 2e-2, .atol = 1e-3, .output_kinks = true}))
          << "fused ReLU, training " << training << ", affine " << affine;
    }
  }
}

// GroupNorm and LayerNorm, affine on and off; a batch of one example is enough (no statistic
// crosses examples).
TEST(GroupNormGradcheck, GroupsLayerAndInstance) {
  struct Case {
    std::vector<int64_t> input;
    int64_t groups;
    bool per_element;
  };
  for (const Case& c : {Case{{2, 6, 3, 2}, 3, false}, Case{{1, 4, 3, 3}, 4, false},
                        Case{{3, 5}, 1, true}, Case{{2, 2, 2, 3}, 1, true}}) {
    for (bool affine : {true, false}) {
      const std::vector<int64_t> affine_shape =
          c.per_element ? std::vector<int64_t>(c.input.begin() + 1, c.input.end())
                        : std::vector<int64_t>{c.input[1]};
      const std::vector<Variable> inputs =
          affine ? std::vector<Variable>{param(Shape(c.input), 61), param(Shape(affine_shape), 62),
                                         param(Shape(affine_shape), 63)}
                 : std::vector<Variable>{param(Shape(c.input), 61)};
      EXPECT_TRUE(gradcheck(
          [&](const std::vector<Variable>& v) {
            return group_norm(v[0], affine ? v[1] : Variable(), affine ? v[2] : Variable(),
                              {.groups = c.groups, .per_element = c.per_element});
          },
          inputs, {.eps = 1e-2, .rtol = 2e-2, .atol = 1e-3}))
          << c.input.size() << "-d input, " << c.groups << " groups, affine " << affine;
    }
  }
}

TEST(AddGradcheck, PlainAndFusedRelu) {
  EXPECT_TRUE(gradcheck([](const auto& v) { return add(v[0], v[1]); },
                        {param({2, 3, 4}, 51), param({2, 3, 4}, 52)}));
  EXPECT_TRUE(gradcheck([](const auto& v) { return add(v[0], v[1], true); },
                        {param({2, 3, 4}, 53), param({2, 3, 4}, 54)}, {.output_kinks = true}));
}
}  // namespace
}  // namespace tinycnn::ops
