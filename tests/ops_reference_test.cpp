// Every op's forward and every gradient against PyTorch's values (tests/reference/*.json),
// convolution once per algorithm. Backward is driven through autograd with PyTorch's
// grad_output as the upstream gradient.
#include <gtest/gtest.h>

#include <string>

#include "autograd/engine.hpp"
#include "model/builder.hpp"
#include "nn/batchnorm.hpp"
#include "nn/pooling.hpp"
#include "ops/activation.hpp"
#include "ops/batchnorm.hpp"
#include "ops/conv2d.hpp"
#include "ops/cross_entropy.hpp"
#include "ops/groupnorm.hpp"
#include "ops/linear.hpp"
#include "ops/pooling.hpp"
#include "support/allclose.hpp"
#include "support/reference.hpp"

namespace tinycnn::ops {
namespace {

using autograd::Node;
using tensor::Tensor;
using testing::all_close;
using testing::Reference;

constexpr double kRtol = 1e-4;
constexpr double kAtol = 1e-5;

// Seeds backward with a given upstream gradient: loss = <output, grad_output>.
class UpstreamNode : public Node {
 public:
  UpstreamNode(const Variable& out, Tensor grad) : Node({out}), grad_(std::move(grad)) {}
  const char* name() const override { return "upstream"; }
  std::vector<Tensor> backward(const Tensor&) override { return {grad_}; }

 private:
  Tensor grad_;
};

void backward_with(const Variable& out, const Tensor& grad_output) {
  Variable loss(Tensor::zeros({1}), true);
  loss.set_grad_fn(std::make_shared<UpstreamNode>(out, grad_output));
  autograd::backward(loss);
}

int64_t as_pair_first(const nlohmann::json& v) {
  return v.is_array() ? v[0].get<int64_t>() : v.get<int64_t>();
}
int64_t as_pair_second(const nlohmann::json& v) {
  return v.is_array() ? v[1].get<int64_t>() : v.get<int64_t>();
}

struct ConvRefCase {
  std::string name;
  kernels::ConvAlgo algo;
};

class ConvReference : public ::testing::TestWithParam<ConvRefCase> {};

TEST_P(ConvReference, ForwardAndGradientsMatchPyTorch) {
  const Reference ref = Reference::load(GetParam().name);
  const auto& p = ref.params();
  Variable input(ref.tensor("input"), true);
  Variable weight(ref.tensor("weight"), true);
  Variable bias = p.at("bias").get<bool>() ? Variable(ref.tensor("bias"), true) : Variable();
  const Conv2dParams params{.stride_h = as_pair_first(p.at("stride")),
                            .stride_w = as_pair_second(p.at("stride")),
                            .pad_h = as_pair_first(p.at("padding")),
                            .pad_w = as_pair_second(p.at("padding")),
                            .groups = p.at("groups").get<int64_t>(),
                            .algo = GetParam().algo};
  Variable out = conv2d(input, weight, bias, params);
  EXPECT_TRUE(all_close(out.data(), ref.tensor("output"), kRtol, kAtol)) << "output";
  backward_with(out, ref.tensor("grad_output"));
  EXPECT_TRUE(all_close(input.grad(), ref.tensor("grad_input"), kRtol, kAtol)) << "grad_input";
  EXPECT_TRUE(all_close(weight.grad(), ref.tensor("grad_weight"), kRtol, kAtol)) << "grad_weight";
  if (bias.defined()) {
    EXPECT_TRUE(all_close(bias.grad(), ref.tensor("grad_bias"), kRtol, kAtol)) << "grad_bias";
  }
}

std::vector<ConvRefCase> conv_cases() {
  std::vector<ConvRefCase> cases;
  for (const auto& name : testing::reference_names("conv2d")) {
    for (kernels::ConvAlgo algo : kernels::kConvAlgos) cases.push_back({name, algo});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(PyTorch, ConvReference, ::testing::ValuesIn(conv_cases()),
                         [](const auto& test_param) {
                           return test_param.param.name + "_" +
                                  std::string(kernels::to_string(test_param.param.algo));
                         });

TEST(ConvReference, AllFiveCasesPresent) {
  EXPECT_EQ(conv_cases().size(), 5 * kernels::kConvAlgos.size());  // each case x each algorithm
}

class PoolReference : public ::testing::TestWithParam<std::string> {};

TEST_P(PoolReference, ForwardAndGradientMatchPyTorch) {
  const Reference ref = Reference::load(GetParam());
  const auto& p = ref.params();
  const Pool2dParams params{.kernel_h = p.at("kernel_size").get<int64_t>(),
                            .kernel_w = p.at("kernel_size").get<int64_t>(),
                            .stride_h = p.at("stride").get<int64_t>(),
                            .stride_w = p.at("stride").get<int64_t>(),
                            .pad_h = p.at("padding").get<int64_t>(),
                            .pad_w = p.at("padding").get<int64_t>()};
  Variable input(ref.tensor("input"), true);
  const bool is_max = ref.json().at("op") == "maxpool2d";
  Variable out = is_max ? maxpool2d(input, params) : avgpool2d(input, params);
  EXPECT_TRUE(all_close(out.data(), ref.tensor("output"), kRtol, kAtol));
  backward_with(out, ref.tensor("grad_output"));
  EXPECT_TRUE(all_close(input.grad(), ref.tensor("grad_input"), kRtol, kAtol));
}

std::vector<std::string> pool_cases() {
  auto names = testing::reference_names("maxpool2d");
  for (const auto& n : testing::reference_names("avgpool2d")) names.push_back(n);
  return names;
}

INSTANTIATE_TEST_SUITE_P(PyTorch, PoolReference, ::testing::ValuesIn(pool_cases()),
                         [](const auto& test_param) { return test_param.param; });

TEST(GlobalAvgPoolReference, ForwardAndGradientMatchPyTorch) {
  const Reference ref = Reference::load("global_avgpool_rect");
  nn::GlobalAvgPool2d pool;
  Variable input(ref.tensor("input"), true);
  Variable out = pool.forward(input);
  EXPECT_TRUE(all_close(out.data(), ref.tensor("output"), kRtol, kAtol));
  backward_with(out, ref.tensor("grad_output"));
  EXPECT_TRUE(all_close(input.grad(), ref.tensor("grad_input"), kRtol, kAtol));
}

class BatchNormReference : public ::testing::TestWithParam<std::string> {};

TEST_P(BatchNormReference, ForwardGradientsAndRunningStatisticsMatchPyTorch) {
  const Reference ref = Reference::load(GetParam());
  const auto& p = ref.params();
  Variable input(ref.tensor("input"), true);
  Variable weight, bias;
  if (p.at("affine").get<bool>()) {
    weight = Variable(ref.tensor("weight"), true);
    bias = Variable(ref.tensor("bias"), true);
  }
  int64_t tracked = 0;
  BatchNormRunning running{.mean = ref.tensor("running_mean").clone(),
                           .var = ref.tensor("running_var").clone(),
                           .batches_tracked = &tracked};
  const BatchNormParams params{.eps = p.at("eps").get<double>(),
                               .momentum = p.at("momentum").get<double>(),
                               .training = p.at("training").get<bool>()};
  Variable out = batch_norm(input, weight, bias, running, params);
  EXPECT_TRUE(all_close(out.data(), ref.tensor("output"), kRtol, kAtol));
  EXPECT_TRUE(all_close(running.mean, ref.tensor("running_mean_after"), kRtol, kAtol));
  EXPECT_TRUE(all_close(running.var, ref.tensor("running_var_after"), kRtol, kAtol));
  EXPECT_EQ(tracked, params.training ? 1 : 0);
  backward_with(out, ref.tensor("grad_output"));
  EXPECT_TRUE(all_close(input.grad(), ref.tensor("grad_input"), kRtol, kAtol));
  if (weight.defined()) {
    EXPECT_TRUE(all_close(weight.grad(), ref.tensor("grad_weight"), kRtol, kAtol));
    EXPECT_TRUE(all_close(bias.grad(), ref.tensor("grad_bias"), kRtol, kAtol));
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, BatchNormReference,
                         ::testing::Values("batchnorm2d_train", "batchnorm2d_eval",
                                           "batchnorm2d_noaffine", "batchnorm1d_train"),
                         [](const auto& test_param) { return test_param.param; });

TEST(BatchNormReference, OneValuePerChannelInTrainingIsAnError) {
  Variable input(Tensor::zeros({1, 3, 1, 1}), true);
  BatchNormRunning running{.mean = Tensor::zeros({3}), .var = Tensor::full({3}, 1.0f)};
  try {
    (void)batch_norm(input, {}, {}, running, {});
    FAIL() << "no error";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected more than 1 value per channel when training"),
              std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(batch_norm(input, {}, {}, running, {.training = false}));
}

// GroupNorm (per-channel affine; one group per channel is instance norm; a flat [N, F] input)
// and LayerNorm (the whole example, affine shaped as it): values and every gradient.
class GroupNormReference : public ::testing::TestWithParam<std::string> {};

TEST_P(GroupNormReference, ForwardAndGradientsMatchPyTorch) {
  const Reference ref = Reference::load(GetParam());
  const auto& p = ref.params();
  const bool layer = ref.json().at("op") == "layernorm";
  Variable input(ref.tensor("input"), true);
  Variable weight, bias;
  if (p.at("affine").get<bool>()) {
    weight = Variable(ref.tensor("weight"), true);
    bias = Variable(ref.tensor("bias"), true);
  }
  const GroupNormParams params{.groups = layer ? 1 : p.at("num_groups").get<int64_t>(),
                               .eps = p.at("eps").get<double>(),
                               .per_element = layer};
  Variable out = group_norm(input, weight, bias, params);
  EXPECT_TRUE(all_close(out.data(), ref.tensor("output"), kRtol, kAtol));
  backward_with(out, ref.tensor("grad_output"));
  EXPECT_TRUE(all_close(input.grad(), ref.tensor("grad_input"), kRtol, kAtol));
  if (weight.defined()) {
    EXPECT_TRUE(all_close(weight.grad(), ref.tensor("grad_weight"), kRtol, kAtol));
    EXPECT_TRUE(all_close(bias.grad(), ref.tensor("grad_bias"), kRtol, kAtol));
  }
}

std::vector<std::string> group_norm_cases() {
  auto names = testing::reference_names("groupnorm");
  for (const auto& n : testing::reference_names("layernorm")) names.push_back(n);
  return names;
}

INSTANTIATE_TEST_SUITE_P(PyTorch, GroupNormReference, ::testing::ValuesIn(group_norm_cases()),
                         [](const auto& test_param) { return test_param.param; });

TEST(GroupNormReference, GroupsThatDoNotDivideTheChannelsAreAnError) {
  Variable input(Tensor::zeros({2, 6, 2, 2}), true);
  try {
    (void)group_norm(input, {}, {}, {.groups = 4});
    FAIL() << "no error";
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(), "group norm: 4 groups do not divide 6 channels");
  }
}

// Residual blocks (identity and projection shortcuts, nested) built from config layers, with
// PyTorch's weights put in by their checkpoint names: values, every gradient, the running
// statistics after one training-mode forward.
class BlockReference : public ::testing::TestWithParam<std::string> {};

TEST_P(BlockReference, ForwardGradientsAndRunningStatisticsMatchPyTorch) {
  const Reference ref = Reference::load(GetParam());
  const Tensor x = ref.tensor("input");
  nlohmann::json layers = ref.params().at("layers");
  layers.push_back({{"type", "flatten"}});
  const model::ModelSpec spec = model::parse_config(
      {{"name", "block"},
       {"input", {{"channels", x.dim(1)}, {"height", x.dim(2)}, {"width", x.dim(3)}}},
       {"layers", layers}});
  auto net = model::build_model(spec);
  size_t matched = 0;
  for (auto& param : net->parameters()) {
    ASSERT_TRUE(ref.has(param.name)) << param.name;
    param.var.data() = ref.tensor(param.name);
    ++matched;
  }
  EXPECT_GT(matched, 0u);
  net->set_training(true);
  Variable input(x, true);
  Variable out = net->forward(input);
  const Tensor expected = ref.tensor("output");
  EXPECT_TRUE(all_close(out.data(), expected.reshape(out.shape()), kRtol, kAtol));
  backward_with(out, ref.tensor("grad_output").reshape(out.shape()));
  EXPECT_TRUE(all_close(input.grad(), ref.tensor("grad_input"), kRtol, kAtol));
  for (auto& param : net->parameters()) {
    EXPECT_TRUE(all_close(param.var.grad(), ref.tensor("grad." + param.name), kRtol, kAtol))
        << param.name;
  }
  for (auto& buffer : net->buffers()) {
    if (!buffer.f32) continue;
    EXPECT_TRUE(all_close(*buffer.f32, ref.tensor("running." + buffer.name), kRtol, kAtol))
        << buffer.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, BlockReference,
                         ::testing::Values("residual_projection", "residual_nested_identity"),
                         [](const auto& test_param) { return test_param.param; });

TEST(LinearReference, ForwardAndGradientsMatchPyTorch) {
  const Reference ref = Reference::load("linear_5_to_4");
  Variable input(ref.tensor("input"), true);
  Variable weight(ref.tensor("weight"), true);
  Variable bias(ref.tensor("bias"), true);
  Variable out = linear(input, weight, bias);
  EXPECT_TRUE(all_close(out.data(), ref.tensor("output"), kRtol, kAtol));
  backward_with(out, ref.tensor("grad_output"));
  EXPECT_TRUE(all_close(input.grad(), ref.tensor("grad_input"), kRtol, kAtol));
  EXPECT_TRUE(all_close(weight.grad(), ref.tensor("grad_weight"), kRtol, kAtol));
  EXPECT_TRUE(all_close(bias.grad(), ref.tensor("grad_bias"), kRtol, kAtol));
}

class ActivationReference : public ::testing::TestWithParam<std::string> {};

TEST_P(ActivationReference, ForwardAndGradientMatchPyTorch) {
  const Reference ref = Reference::load(GetParam());
  Variable input(ref.tensor("input"), true);
  const std::string op = ref.json().at("op");
  Variable out = op == "relu" ? relu(input) : op == "tanh" ? tanh(input) : sigmoid(input);
  EXPECT_TRUE(all_close(out.data(), ref.tensor("output"), kRtol, kAtol));
  backward_with(out, ref.tensor("grad_output"));
  EXPECT_TRUE(all_close(input.grad(), ref.tensor("grad_input"), kRtol, kAtol));
}

INSTANTIATE_TEST_SUITE_P(PyTorch, ActivationReference,
                         ::testing::Values("relu", "tanh", "sigmoid"));

class CrossEntropyReference : public ::testing::TestWithParam<std::string> {};

TEST_P(CrossEntropyReference, LossAndGradientMatchPyTorch) {
  const Reference ref = Reference::load(GetParam());
  Variable logits(ref.tensor("input"), true);
  const auto labels = ref.json().at("labels").get<std::vector<int32_t>>();
  const float smoothing = ref.json().at("params").value("label_smoothing", 0.0f);
  std::vector<int32_t> other;
  std::vector<float> lambda;
  if (ref.has("other")) {
    other = ref.json().at("other").get<std::vector<int32_t>>();
    lambda = ref.json().at("lambda").get<std::vector<float>>();
  }
  Variable loss = softmax_cross_entropy(logits, labels, smoothing, other, lambda);
  const double expected = ref.json().at("loss").get<double>();
  EXPECT_NEAR(loss.data()[0], expected, kRtol * std::abs(expected));
  autograd::backward(loss);
  EXPECT_TRUE(all_close(logits.grad(), ref.tensor("grad_input"), kRtol, kAtol));
}

INSTANTIATE_TEST_SUITE_P(PyTorch, CrossEntropyReference,
                         ::testing::Values("xent_4x10", "xent_large_logits", "xent_smoothing_4x10",
                                           "xent_smoothing_large_logits", "xent_mixed_5x10",
                                           "xent_mixed_smoothing_4x7"));

TEST(CrossEntropyReference, MixedTargetsOutOfRangeAreAnError) {
  Variable logits(Tensor::zeros({2, 3}), true);
  EXPECT_THROW(softmax_cross_entropy(logits, {0, 1}, 0.0f, std::vector<int32_t>{1},
                                     std::vector<float>{0.5f}),
               core::Error);
  EXPECT_THROW(softmax_cross_entropy(logits, {0, 1}, 0.0f, std::vector<int32_t>{1, 3},
                                     std::vector<float>{0.5f, 0.5f}),
               core::Error);
  EXPECT_THROW(softmax_cross_entropy(logits, {0, 1}, 0.0f, std::vector<int32_t>{1, 2},
                                     std::vector<float>{0.5f, 1.5f}),
               core::Error);
}

}  // namespace
}  // namespace tinycnn::ops
