// Finite-difference gradient checks of every op on awkward shapes.
#include "support/gradcheck.hpp"

#include <gtest/gtest.h>

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
#include "ops/linear.hpp"
#include "ops/pooling.hpp"
#include "ops/reshape.hpp"
#include "train/double_forward.hpp"
#include "train/gradcheck.hpp"

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
    std::vector<Variable> inputs{param(c.input, 1), param(c.weight, 2, 0.5f),
                                 c.bias ? param({c.weight[0]}, 3) : Variable()};
    // A fused ReLU has a kink at every output: elements whose nudges cross one are skipped.
    const testing::GradcheckOptions options{.output_kinks = params.relu};
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

TEST(AddGradcheck, PlainAndFusedRelu) {
  EXPECT_TRUE(gradcheck([](const auto& v) { return add(v[0], v[1]); },
                        {param({2, 3, 4}, 51), param({2, 3, 4}, 52)}));
  EXPECT_TRUE(gradcheck([](const auto& v) { return add(v[0], v[1], true); },
                        {param({2, 3, 4}, 53), param({2, 3, 4}, 54)}, {.output_kinks = true}));
}
}  // namespace
}  // namespace tinycnn::ops

// The model-level checker behind `tinycnn gradcheck`: its double-precision forward agrees with
// the float one and follows the float forward's ReLU and max-pool choices; the check passes on a
// network with every layer kind, measuring every sampled entry, and it catches a layer whose
// backward is wrong and a forward that disagrees with the reference.
namespace tinycnn::train {
namespace {
using autograd::Variable;
using tensor::Tensor;

// y = 2x whose backward claims dy/dx = 3: a broken layer, built only here.
class BrokenScale : public nn::Module {
  class Node : public autograd::Node {
   public:
    explicit Node(const Variable& x) : autograd::Node({x}) {}
    const char* name() const override { return "broken_scale"; }
    std::vector<Tensor> backward(const Tensor& g) override {
      Tensor d = g.clone();
      for (int64_t i = 0; i < d.numel(); ++i) d[i] *= 3.0f;
      return {d};
    }
  };

 public:
  std::string type() const override { return "broken_scale"; }
  tensor::Shape output_shape(const tensor::Shape& in) const override { return in; }
  Variable forward(const Variable& x) override {
    Tensor y = x.data().clone();
    for (int64_t i = 0; i < y.numel(); ++i) y[i] *= 2.0f;
    return autograd::make_result(
        y, autograd::should_record({&x}) ? std::make_shared<Node>(x) : nullptr);
  }
};

model::ModelSpec every_layer_spec() {
  return model::parse_config(nlohmann::json::parse(R"({
    "name": "every_layer", "input": {"channels": 2, "height": 12, "width": 12},
    "layers": [
      {"type": "maxpool2d", "kernel_size": 2},
      {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
      {"type": "batchnorm2d"}, {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 3,
       "stride": 1, "padding": 1}, {"type": "tanh"},
      {"type": "residual", "layers": [
        {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "stride": 2, "padding": 1},
        {"type": "batchnorm2d", "affine": false}, {"type": "tanh"}],
       "shortcut": [{"type": "conv2d", "out_channels": 6, "kernel_size": 1, "stride": 2}]},
      {"type": "avgpool2d", "kernel_size": 2, "stride": 1}, {"type": "global_avgpool2d"},
      {"type": "flatten"}, {"type": "dropout", "p": 0.5},
      {"type": "linear", "out_features": 8}, {"type": "sigmoid"},
      {"type": "linear", "out_features": 3}],
    "training": {"weight_init": "pytorch"}})"));
}

Tensor random_batch(const tensor::Shape& example, int64_t n, uint64_t seed) {
  std::vector<int64_t> dims{n};
  for (const int64_t d : example.dims()) dims.push_back(d);
  core::Rng rng(seed);
  return Tensor::randn(tensor::Shape(dims), rng);
}

void expect_matches_float(nn::Sequential& net, const Tensor& x) {
  Tensor y;
  {
    autograd::NoGradGuard no_grad;
    y = net.forward(Variable(x)).data().clone();
  }
  const DoubleBatch d = forward_double(net, to_double(x));
  ASSERT_EQ(d.values.size(), static_cast<size_t>(y.numel()));
  for (int64_t i = 0; i < y.numel(); ++i) {
    EXPECT_NEAR(d.values[static_cast<size_t>(i)], y[i], 1e-5 * (1 + std::abs(y[i]))) << i;
  }
}

TEST(DoubleForward, MatchesTheFloatForwardOnEveryLayerKind) {
  const model::ModelSpec spec = every_layer_spec();
  auto net = model::build_model(spec);
  const Tensor x = random_batch(model::input_shape(spec), 5, 11);
  nn::walk(*net, [](const std::string&, nn::Module& layer, int) {
    if (layer.type() == "dropout") layer.set_training(false);
  });
  expect_matches_float(*net, x);  // batch norm on the batch's statistics
  net->set_training(false);
  expect_matches_float(*net, x);  // on the running statistics
}

TEST(DoubleForward, FollowsTheRecordedPiece) {
  nn::Sequential net;
  net.add(std::make_unique<nn::Activation>(nn::Activation::Kind::Relu));
  net.add(std::make_unique<nn::MaxPool2d>(nn::Pool2dOptions{}));
  const Tensor x = Tensor::from_vector({1, 1, 2, 2}, {-1.0f, 2.0f, -3.0f, 0.5f});
  EXPECT_EQ(forward_double(net, to_double(x)).values, std::vector<double>{2.0});
  Pieces pieces;
  pieces.relu_positive[&net.layer(0)] = {1, 0, 1, 1};  // -1 and -3 pass, 2 is zeroed
  pieces.pool_argmax[&net.layer(1)] = {0};             // the window takes its first input
  EXPECT_EQ(forward_double(net, to_double(x), &pieces).values, std::vector<double>{-1.0});
  pieces.pool_argmax[&net.layer(1)] = {0, 1};
  EXPECT_THROW(forward_double(net, to_double(x), &pieces), core::Error);
}

TEST(ModelGradcheck, PassesOnEveryLayerKind) {
  const model::ModelSpec spec = every_layer_spec();
  auto net = model::build_model(spec);
  const GradcheckReport r = gradcheck_model(*net, model::input_shape(spec), {});
  ASSERT_EQ(r.layers.size(), spec.layers.size());
  double worst = 0;
  for (const auto& l : r.layers) {
    for (const auto& c : l.checks) {
      EXPECT_TRUE(c.pass) << l.index << " " << l.type << " " << c.name << ": " << c.max_rel_error;
      EXPECT_GT(c.entries, 0) << l.index << " " << c.name;
      EXPECT_EQ(c.skipped, 0) << l.index << " " << c.name;  // the ReLU and pools' kinks too
      worst = std::max(worst, c.max_rel_error);
    }
  }
  EXPECT_LT(worst, 1e-3);  // double-precision differences: far inside the tolerance
  // The block is one layer: its input and every parameter inside it.
  EXPECT_EQ(r.layers[6].checks.size(), 1u + 2u + 2u);
  EXPECT_EQ(r.layers[6].checks[1].name, "layers.0.weight");
}

// A convolution whose forward is twice what it should be (its backward consistent with it):
// the gradients would check, so the forward is compared with the double-precision one first.
class WrongForwardConv : public nn::Conv2d {
 public:
  using nn::Conv2d::Conv2d;
  Variable forward(const Variable& x) override {
    const Variable y = nn::Conv2d::forward(x);
    return ops::add(y, y);
  }
};

TEST(ModelGradcheck, RefusesAForwardThatDisagreesWithTheReference) {
  nn::Sequential net;
  core::Rng rng(5);
  nn::Conv2dOptions c;
  c.in_channels = 1;
  c.out_channels = 2;
  c.kernel_size = {3, 3};
  net.add(std::make_unique<WrongForwardConv>(c, rng));
  net.add(std::make_unique<nn::Flatten>());
  try {
    (void)gradcheck_model(net, {1, 5, 5}, {});
    FAIL() << "expected an error";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer 0 (conv2d): the forward's loss"), std::string::npos)
        << e.what();
  }
}

TEST(ModelGradcheck, CatchesABrokenBackward) {
  auto broken = std::make_unique<nn::Sequential>();
  broken->add(std::make_unique<nn::Flatten>());
  broken->add(std::make_unique<BrokenScale>());
  nn::LinearOptions o;
  o.in_features = 2 * 8 * 8;
  o.out_features = 3;
  core::Rng rng(3);
  broken->add(std::make_unique<nn::Linear>(o, rng));
  const GradcheckReport r = gradcheck_model(*broken, {2, 8, 8}, {});
  EXPECT_FALSE(r.pass);
  EXPECT_TRUE(r.layers[0].checks[0].pass == false);  // flatten's input sees the wrong factor
  EXPECT_FALSE(r.layers[1].checks[0].pass);
  EXPECT_GT(r.layers[1].checks[0].max_rel_error, 0.3);
  EXPECT_TRUE(r.layers[2].checks[0].pass);  // after it, all is well
}
}  // namespace
}  // namespace tinycnn::train
