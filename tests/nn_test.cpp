// nn: shape inference and its errors, initialisation, parameter naming, train/eval modes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "nn/batchnorm.hpp"
#include "nn/conv2d.hpp"
#include "nn/fusion.hpp"
#include "nn/linear.hpp"
#include "nn/pooling.hpp"
#include "nn/sequential.hpp"
#include "nn/simple_layers.hpp"
#include "nn/spatial.hpp"
#include "ops/cross_entropy.hpp"
#include "support/gradcheck.hpp"

namespace tinycnn::nn {
namespace {

std::unique_ptr<Sequential> lenet(core::Rng& rng) {
  auto owner = std::make_unique<Sequential>();
  Sequential& net = *owner;
  net.add(std::make_unique<Conv2d>(
      Conv2dOptions{.in_channels = 1, .out_channels = 6, .kernel_size = {5, 5}, .padding = {2, 2}},
      rng));
  net.add(std::make_unique<Activation>(Activation::Kind::Relu));
  net.add(std::make_unique<MaxPool2d>(Pool2dOptions{}));
  net.add(std::make_unique<Conv2d>(
      Conv2dOptions{.in_channels = 6, .out_channels = 16, .kernel_size = {5, 5}}, rng));
  net.add(std::make_unique<Activation>(Activation::Kind::Relu));
  net.add(std::make_unique<MaxPool2d>(Pool2dOptions{}));
  net.add(std::make_unique<Flatten>());
  net.add(std::make_unique<Linear>(LinearOptions{.in_features = 400, .out_features = 120}, rng));
  net.add(std::make_unique<Activation>(Activation::Kind::Relu));
  net.add(std::make_unique<Linear>(LinearOptions{.in_features = 120, .out_features = 84}, rng));
  net.add(std::make_unique<Activation>(Activation::Kind::Relu));
  net.add(std::make_unique<Linear>(LinearOptions{.in_features = 84, .out_features = 10}, rng));
  return owner;
}

TEST(Sequential, LeNetShapesAndParameters) {
  core::Rng rng(42);
  auto lenet_net = lenet(rng);
  Sequential& net = *lenet_net;
  EXPECT_EQ(net.output_shape({1, 28, 28}), Shape({10}));
  int64_t count = 0;
  for (auto& p : net.parameters()) count += p.var.data().numel();
  EXPECT_EQ(count, 61706);
  const auto params = net.parameters();
  EXPECT_EQ(params.front().name, "layers.0.weight");
  EXPECT_EQ(params.back().name, "layers.11.bias");
  EXPECT_EQ(params.front().var.shape(), Shape({6, 1, 5, 5}));

  core::Rng data_rng(1);
  Variable x(Tensor::randn({3, 1, 28, 28}, data_rng));
  EXPECT_EQ(net.forward(x).shape(), Shape({3, 10}));
}

TEST(Sequential, FusedLayersGiveTheLayersOwnValuesAndGradients) {
  // Sequential runs conv2d + relu, and conv2d + relu + 2x2 maxpool2d, as one op; layer by layer
  // must give the same bits (outputs and every parameter's gradient).
  for (bool pool : {false, true}) {
    for (auto algo : kernels::kConvAlgos) {
      SCOPED_TRACE(std::string(kernels::to_string(algo)) + (pool ? " + pool" : ""));
      core::Rng rng(5);
      Sequential net;
      net.add(std::make_unique<Conv2d>(
          Conv2dOptions{.in_channels = 2, .out_channels = 16, .kernel_size = {3, 3}, .algo = algo},
          rng));
      net.add(std::make_unique<Activation>(Activation::Kind::Relu));
      if (pool) net.add(std::make_unique<MaxPool2d>(Pool2dOptions{}));
      net.add(std::make_unique<Conv2d>(
          Conv2dOptions{.in_channels = 16, .out_channels = 4, .kernel_size = {1, 1}, .algo = algo},
          rng));
      net.add(std::make_unique<Activation>(Activation::Kind::Relu));
      net.add(std::make_unique<Flatten>());
      const int64_t features = pool ? 4 * 2 * 3 : 4 * 5 * 6;  // 7x8 -> 5x6 (-> 2x3)
      net.add(
          std::make_unique<Linear>(LinearOptions{.in_features = features, .out_features = 3}, rng));
      core::Rng data_rng(6);
      const Tensor x = Tensor::randn({2, 2, 7, 8}, data_rng);
      auto run = [&](bool fused) {
        for (auto& p : net.parameters()) p.var.zero_grad();
        Variable h(x);
        if (fused) {
          h = net.forward(h);
        } else {
          for (size_t i = 0; i < net.size(); ++i) h = net.layer(i).forward(h);
        }
        autograd::backward(ops::softmax_cross_entropy(h, {0, 2}));
        std::vector<Tensor> out{h.data().clone()};
        for (auto& p : net.parameters()) out.push_back(p.var.grad().clone());
        return out;
      };
      const auto fused = run(true), layered = run(false);
      ASSERT_EQ(fused.size(), layered.size());
      for (size_t i = 0; i < fused.size(); ++i) {
        EXPECT_EQ(fused[i].to_vector(), layered[i].to_vector()) << "tensor " << i;
      }
    }
  }
}

TEST(Sequential, FusedBatchNormReluGivesTheLayersOwnValuesAndGradients) {
  // batchnorm + relu run as one op (training and eval statistics): the same bits as the layers
  // one by one, outputs, every parameter's gradient and the running statistics.
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "eval");
    auto build = [] {
      core::Rng rng(7);
      auto net = std::make_unique<Sequential>();
      net->add(std::make_unique<Conv2d>(
          Conv2dOptions{.in_channels = 2, .out_channels = 4, .kernel_size = {3, 3}}, rng));
      net->add(std::make_unique<BatchNorm>(BatchNormOptions{.features = 4}));
      net->add(std::make_unique<Activation>(Activation::Kind::Relu));
      net->add(std::make_unique<Flatten>());
      net->add(std::make_unique<Linear>(LinearOptions{.in_features = 4 * 5 * 6, .out_features = 3},
                                        rng));
      return net;
    };
    core::Rng data_rng(8);
    const Tensor x = Tensor::randn({3, 2, 7, 8}, data_rng);
    auto run = [&](bool fused) {
      auto net = build();
      net->set_training(training);
      if (fused) {
        EXPECT_EQ(net->plan()[1].kind, FusedStep::Kind::BatchNormRelu);
      }
      Variable h(x);
      if (fused) {
        h = net->forward(h);
      } else {
        for (size_t i = 0; i < net->size(); ++i) h = net->layer(i).forward(h);
      }
      autograd::backward(ops::softmax_cross_entropy(h, {0, 2, 1}));
      std::vector<Tensor> out{h.data().clone()};
      for (auto& p : net->parameters()) out.push_back(p.var.grad().clone());
      for (auto& b : net->buffers()) {
        if (b.f32) out.push_back(b.f32->clone());
      }
      return out;
    };
    const auto fused = run(true), layered = run(false);
    ASSERT_EQ(fused.size(), layered.size());
    for (size_t i = 0; i < fused.size(); ++i) {
      EXPECT_EQ(fused[i].to_vector(), layered[i].to_vector()) << "tensor " << i;
    }
  }
}

TEST(Sequential, ErrorNamesTheLayerAndTheArithmetic) {
  core::Rng rng(42);
  auto lenet_net = lenet(rng);
  Sequential& net = *lenet_net;
  try {
    net.output_shape({1, 8, 8});  // 8 -> 8 -> 4 -> conv 5x5 does not fit
    FAIL() << "no throw";
  } catch (const core::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("layer 3 (conv2d)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(4 - 5 + 2*0)/1 + 1"), std::string::npos) << msg;
    EXPECT_EQ(e.kind(), core::ErrorKind::Invalid);
  }
  try {
    net.output_shape({3, 28, 28});
    FAIL() << "no throw";
  } catch (const core::Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("layer 0 (conv2d): conv2d: expected 1 input channels, got 3"),
        std::string::npos)
        << e.what();
  }
}

TEST(Layers, BadOptionsAndShapesAreErrorsNotCrashes) {
  core::Rng rng(1);
  EXPECT_THROW(Conv2d(Conv2dOptions{.in_channels = 0, .out_channels = 6}, rng), core::Error);
  EXPECT_THROW(Conv2d(Conv2dOptions{.in_channels = 3, .out_channels = 6, .groups = 2}, rng),
               core::Error);
  EXPECT_THROW(Conv2d(Conv2dOptions{.in_channels = 1, .out_channels = 1, .stride = {0, 1}}, rng),
               core::Error);
  EXPECT_THROW(Linear(LinearOptions{.in_features = 4, .out_features = -1}, rng), core::Error);
  EXPECT_THROW(MaxPool2d(Pool2dOptions{.kernel_size = {2, 2}, .padding = {2, 2}}), core::Error);
  EXPECT_THROW(Dropout(DropoutOptions{.p = 1.0f}), core::Error);
  Linear fc(LinearOptions{.in_features = 4, .out_features = 2}, rng);
  EXPECT_THROW(fc.output_shape({2, 2}), core::Error);
  EXPECT_THROW(fc.output_shape({5}), core::Error);
  Variable wrong(Tensor::zeros({3, 5}));
  EXPECT_THROW(fc.forward(wrong), core::Error);
  MaxPool2d pool(Pool2dOptions{.kernel_size = {3, 3}});
  EXPECT_THROW(pool.output_shape({1, 2, 2}), core::Error);
  Conv2d conv(Conv2dOptions{.in_channels = 2, .out_channels = 2, .kernel_size = {3, 3}}, rng);
  Variable image(Tensor::zeros({1, 3, 5, 5}));
  EXPECT_THROW(conv.forward(image), core::Error);
}

TEST(GlobalAvgPool2d, ShapesAndFiniteDifferenceGradients) {
  GlobalAvgPool2d pool;
  EXPECT_EQ(pool.output_shape({3, 5, 7}), Shape({3, 1, 1}));
  EXPECT_THROW(pool.output_shape({15}), core::Error);
  std::vector<Variable> inputs{Variable(testing::spaced_values({2, 3, 5, 7}, 3), true)};
  EXPECT_TRUE(testing::gradcheck([&](const auto& v) { return pool.forward(v[0]); }, inputs));
}

TEST(Spatial, FormulaAndTruncationWarning) {
  const SpatialDim same{28, 5, 1, 2};
  EXPECT_EQ(same.out(), 28);
  EXPECT_EQ(same.formula(), "(28 - 5 + 2*2)/1 + 1 = 28");
  EXPECT_FALSE(same.truncates());
  const SpatialDim odd{7, 2, 2, 0};
  EXPECT_EQ(odd.out(), 3);
  EXPECT_TRUE(odd.truncates());
}

TEST(Init, HeNormalStatisticsAndZeroBias) {
  core::Rng rng(3);
  Conv2d conv(Conv2dOptions{.in_channels = 16, .out_channels = 64, .kernel_size = {3, 3}}, rng);
  const Tensor& w = conv.weight().data();
  double sum = 0, sq = 0;
  for (int64_t i = 0; i < w.numel(); ++i) {
    sum += w[i];
    sq += w[i] * w[i];
  }
  const double mean = sum / static_cast<double>(w.numel());
  const double stddev = std::sqrt(sq / static_cast<double>(w.numel()) - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.01);
  EXPECT_NEAR(stddev, std::sqrt(2.0 / (16 * 9)), 0.005);
  for (float b : conv.bias().data().to_vector()) EXPECT_EQ(b, 0.0f);
}

TEST(Init, PyTorchDefaultIsUniformOverOneOverSqrtFanInForWeightsAndBias) {
  core::Rng rng(3);
  Conv2d conv(Conv2dOptions{.in_channels = 16,
                            .out_channels = 64,
                            .kernel_size = {3, 3},
                            .init = WeightInit::PyTorch},
              rng);
  const double bound = 1.0 / std::sqrt(16.0 * 9.0);
  const Tensor& w = conv.weight().data();
  double sum = 0, sq = 0, largest = 0;
  for (int64_t i = 0; i < w.numel(); ++i) {
    sum += w[i];
    sq += w[i] * w[i];
    largest = std::max(largest, std::abs(static_cast<double>(w[i])));
  }
  const double mean = sum / static_cast<double>(w.numel());
  EXPECT_NEAR(mean, 0.0, 0.005);
  // U(-b, b) has variance b^2 / 3; its largest draws come close to b.
  EXPECT_NEAR(std::sqrt(sq / static_cast<double>(w.numel()) - mean * mean), bound / std::sqrt(3.0),
              0.003);
  EXPECT_LE(largest, bound);
  EXPECT_GT(largest, 0.95 * bound);
  int nonzero = 0;
  for (float b : conv.bias().data().to_vector()) {
    EXPECT_LE(std::abs(b), bound);
    nonzero += b != 0.0f;
  }
  EXPECT_EQ(nonzero, 64);

  Linear fc(LinearOptions{.in_features = 400, .out_features = 120, .init = WeightInit::PyTorch},
            rng);
  for (float v : fc.weight().data().to_vector()) EXPECT_LE(std::abs(v), 1.0 / std::sqrt(400.0));
  for (float v : fc.bias().data().to_vector()) EXPECT_LE(std::abs(v), 1.0 / std::sqrt(400.0));
}

TEST(Init, NamesRoundTripAndUnknownOnesAreErrors) {
  for (WeightInit init : {WeightInit::HeNormal, WeightInit::PyTorch}) {
    EXPECT_EQ(weight_init_from_string(to_string(init)), init);
  }
  EXPECT_THROW(weight_init_from_string("xavier"), core::Error);
}

TEST(Init, SameSeedSameWeights) {
  core::Rng a(9), b(9);
  Linear fa(LinearOptions{.in_features = 5, .out_features = 3}, a);
  Linear fb(LinearOptions{.in_features = 5, .out_features = 3}, b);
  EXPECT_EQ(fa.weight().data().to_vector(), fb.weight().data().to_vector());
}

TEST(Dropout, ActiveOnlyInTraining) {
  Dropout drop(DropoutOptions{.p = 0.5f, .seed = 1});
  Variable x(Tensor::full({1000}, 1.0f));
  Variable y = drop.forward(x);
  int zeros = 0;
  for (float v : y.data().to_vector()) {
    EXPECT_TRUE(v == 0.0f || v == 2.0f);
    zeros += v == 0.0f;
  }
  EXPECT_GT(zeros, 400);
  EXPECT_LT(zeros, 600);
  drop.set_training(false);
  EXPECT_EQ(drop.forward(x).data().to_vector(), x.data().to_vector());
}

}  // namespace
}  // namespace tinycnn::nn
