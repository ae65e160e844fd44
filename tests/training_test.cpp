// A small CNN learns a fixed synthetic problem: the loss must fall substantially under SGD,
// with both convolution algorithms, and the trained net must classify the training set.
#include <gtest/gtest.h>

#include <memory>

#include "autograd/engine.hpp"
#include "nn/conv2d.hpp"
#include "nn/linear.hpp"
#include "nn/pooling.hpp"
#include "nn/sequential.hpp"
#include "nn/simple_layers.hpp"
#include "ops/cross_entropy.hpp"
#include "optim/sgd.hpp"

namespace tinycnn {
namespace {

using autograd::Variable;
using tensor::Tensor;

// Class 0: a bright vertical bar; class 1: a bright horizontal bar; at random positions + noise.
void make_batch(core::Rng& rng, int n, Tensor& images, std::vector<int32_t>& labels) {
  images = Tensor::zeros({n, 1, 8, 8});
  labels.assign(static_cast<size_t>(n), 0);
  for (int i = 0; i < n; ++i) {
    const int label = static_cast<int>(rng.uniform_int(2));
    const int pos = 1 + static_cast<int>(rng.uniform_int(6));
    float* img = images.data() + i * 64;
    for (int k = 0; k < 64; ++k) img[k] = static_cast<float>(rng.normal(0.0, 0.1));
    for (int t = 0; t < 8; ++t) img[label == 0 ? t * 8 + pos : pos * 8 + t] += 1.0f;
    labels[static_cast<size_t>(i)] = label;
  }
}

class SmallCnnTraining : public ::testing::TestWithParam<kernels::ConvAlgo> {};

TEST_P(SmallCnnTraining, LossFalls) {
  core::Rng init(1);
  nn::Sequential net;
  net.add(std::make_unique<nn::Conv2d>(nn::Conv2dOptions{.in_channels = 1,
                                                         .out_channels = 4,
                                                         .kernel_size = {3, 3},
                                                         .padding = {1, 1},
                                                         .algo = GetParam()},
                                       init));
  net.add(std::make_unique<nn::Activation>(nn::Activation::Kind::Relu));
  net.add(std::make_unique<nn::MaxPool2d>(nn::Pool2dOptions{}));
  net.add(std::make_unique<nn::Flatten>());
  net.add(
      std::make_unique<nn::Linear>(nn::LinearOptions{.in_features = 64, .out_features = 2}, init));
  optim::SGD sgd(net.parameters(), {.lr = 0.05, .momentum = 0.9});

  core::Rng data(2);
  Tensor images;
  std::vector<int32_t> labels;
  double first_loss = 0, last_loss = 0;
  for (int step = 0; step < 300; ++step) {
    make_batch(data, 16, images, labels);
    sgd.zero_grad();
    Variable loss = ops::softmax_cross_entropy(net.forward(Variable(images)), labels);
    autograd::backward(loss);
    sgd.step();
    if (step < 10) first_loss += loss.data()[0] / 10;
    if (step >= 290) last_loss += loss.data()[0] / 10;
  }
  EXPECT_GT(first_loss, 0.3);
  EXPECT_LT(last_loss, first_loss * 0.2) << "first " << first_loss << ", last " << last_loss;

  autograd::NoGradGuard no_grad;
  make_batch(data, 200, images, labels);
  Tensor logits = net.forward(Variable(images)).data();
  int correct = 0;
  for (int i = 0; i < 200; ++i) correct += (logits[i * 2 + 1] > logits[i * 2]) == (labels[i] == 1);
  EXPECT_GE(correct, 190);
}

INSTANTIATE_TEST_SUITE_P(EveryAlgorithm, SmallCnnTraining, ::testing::ValuesIn(kernels::kConvAlgos),
                         [](const auto& test_param) {
                           return std::string(kernels::to_string(test_param.param));
                         });

}  // namespace
}  // namespace tinycnn
