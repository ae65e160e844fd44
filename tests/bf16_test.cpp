// bfloat16: the conversion (round to nearest even, subnormals flushed, NaN kept quiet; the
// vector and scalar forms the same bits), the linear layer's bf16 products, and whole training
// steps of a batch-norm + residual model in bf16 against float32 and on the two paths.
// (Every conv shape's bf16 kernels: conv_equivalence_test.cpp.)
#include "kernels/bf16.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "autograd/engine.hpp"
#include "core/rng.hpp"
#include "kernels/linear.hpp"
#include "model/builder.hpp"
#include "model/spec.hpp"
#include "ops/cross_entropy.hpp"
#include "ops/saved_operand.hpp"
#include "optim/sgd.hpp"
#include "support/allclose.hpp"
#include "tensor/tensor.hpp"

namespace tinycnn {
namespace {

using autograd::Variable;
using kernels::Bfloat16;
using tensor::Tensor;

float from_bits(uint32_t u) {
  float x = 0;
  std::memcpy(&x, &u, sizeof x);
  return x;
}
uint32_t bits(float x) {
  uint32_t u = 0;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

struct Bf16Path {
  explicit Bf16Path(bool portable) { kernels::set_bf16_portable(portable); }
  ~Bf16Path() { kernels::set_bf16_portable(false); }
  Bf16Path(const Bf16Path&) = delete;
  Bf16Path& operator=(const Bf16Path&) = delete;
};

TEST(Bf16, RoundsToNearestEvenAndKeepsTheSpecialValues) {
  using kernels::round_bf16;
  using kernels::to_bf16;
  EXPECT_EQ(to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(round_bf16(1.0f + 0x1p-8f), 1.0f);                       // a tie: to the even 1.0
  EXPECT_EQ(round_bf16(1.0f + 3 * 0x1p-8f), 1.0f + 0x1p-6f);         // a tie: to the even 1 + 2^-6
  EXPECT_EQ(round_bf16(1.0f + 0x1p-8f + 0x1p-20f), 1.0f + 0x1p-7f);  // above the tie: up
  EXPECT_EQ(round_bf16(-2.5f), -2.5f);                               // exact values stay
  EXPECT_EQ(round_bf16(std::numeric_limits<float>::max()), INFINITY);  // rounds past the top
  EXPECT_EQ(round_bf16(INFINITY), INFINITY);
  EXPECT_EQ(round_bf16(-INFINITY), -INFINITY);
  EXPECT_TRUE(std::isnan(round_bf16(NAN)));
  EXPECT_TRUE(std::isnan(round_bf16(from_bits(0x7f800001u))));  // a NaN whose payload rounds off
  EXPECT_EQ(bits(round_bf16(0x1p-140f)), 0u);                   // subnormal: flushed
  EXPECT_EQ(bits(round_bf16(-0x1p-140f)), 0x80000000u);         // with its sign
  EXPECT_EQ(round_bf16(0x1p-126f), 0x1p-126f);                  // the smallest normal stays
}

TEST(Bf16, VectorAndScalarConversionsGiveTheSameBits) {
  core::Rng rng(5);
  std::vector<float> x(4099);
  for (auto& v : x) v = from_bits(static_cast<uint32_t>(rng.next_u64()));  // every kind of value
  for (size_t i = 0; i < 64; ++i) x[i] = static_cast<float>(rng.normal(0.0, 1.0));
  for (bool portable : {false, true}) {
    const Bf16Path path(portable);
    std::vector<Bfloat16> y(x.size());
    kernels::to_bf16(x.data(), static_cast<int64_t>(x.size()), y.data());
    std::vector<kernels::Bfloat16Pair> p(x.size() / 2);
    const int64_t half = static_cast<int64_t>(p.size());
    kernels::pair_bf16(x.data(), x.data() + half, half, p.data());
    for (size_t i = 0; i < x.size(); ++i) {
      const Bfloat16 want = kernels::to_bf16(x[i]);
      // NaNs: any quiet NaN of the same sign.
      if (std::isnan(x[i])) {
        EXPECT_TRUE(std::isnan(kernels::from_bf16(y[i]))) << i;
        continue;
      }
      ASSERT_EQ(y[i], want) << i << " " << x[i] << (portable ? " portable" : " native");
    }
    for (int64_t i = 0; i < half; ++i) {
      if (std::isnan(x[i]) || std::isnan(x[i + half])) continue;
      ASSERT_EQ(p[i], kernels::pair_bf16(x[i], x[i + half])) << i;
    }
  }
}

TEST(Bf16, ASavedOperandKeepsTheTensorInFloat32AndItsRoundingInBf16) {
  core::Rng rng(5);
  const tensor::Tensor x = tensor::Tensor::randn({2, 3, 5}, rng);
  EXPECT_EQ(ops::SavedOperand(x, kernels::Precision::Float32).values().data(),
            x.data());  // not copied
  const tensor::Tensor widened = ops::SavedOperand(x, kernels::Precision::Bf16).values();
  ASSERT_EQ(widened.shape(), x.shape());
  EXPECT_NE(widened.data(), x.data());
  for (int64_t i = 0; i < x.numel(); ++i) {
    ASSERT_EQ(widened[i], kernels::round_bf16(x[i])) << i;
    ASSERT_NE(widened[i], x[i]) << i;  // randn's values need more than 8 significant bits
  }
}

TEST(Bf16, LinearMultipliesRoundedOperandsAndSumsDbiasInFloat32) {
  const kernels::LinearGeometry g{.batch = 7, .in_features = 37, .out_features = 11};
  kernels::LinearGeometry g16 = g;
  g16.precision = kernels::Precision::Bf16;
  core::Rng rng(3);
  const Tensor x = Tensor::randn({7, 37}, rng), w = Tensor::randn({11, 37}, rng);
  const Tensor b = Tensor::randn({11}, rng), dy = Tensor::randn({7, 11}, rng);
  auto rounded = [](const Tensor& t) {
    Tensor r = t.clone();
    kernels::round_bf16(r.data(), r.numel(), r.data());
    return r;
  };
  const Tensor xr = rounded(x), wr = rounded(w), dyr = rounded(dy);
  Tensor y16 = Tensor::empty({7, 11}), yref = Tensor::empty({7, 11}), yf = Tensor::empty({7, 11});
  kernels::linear_forward(g16, x.data(), w.data(), b.data(), y16.data());
  kernels::linear_forward(g, xr.data(), wr.data(), b.data(), yref.data());
  kernels::linear_forward(g, x.data(), w.data(), b.data(), yf.data());
  EXPECT_TRUE(testing::all_close(y16, yref, 0, 0));
  EXPECT_FALSE(testing::all_close(y16, yf, 1e-6, 1e-6));  // the rounding happened
  Tensor dx16 = Tensor::empty(x.shape()), dw16 = Tensor::empty(w.shape()),
         db16 = Tensor::empty(b.shape());
  Tensor dxr = Tensor::empty(x.shape()), dwr = Tensor::empty(w.shape()),
         dbf = Tensor::empty(b.shape());
  kernels::linear_backward(g16, x.data(), w.data(), dy.data(), dx16.data(), dw16.data(),
                           db16.data());
  kernels::linear_backward(g, xr.data(), wr.data(), dyr.data(), dxr.data(), dwr.data(), nullptr);
  kernels::linear_backward(g, x.data(), w.data(), dy.data(), nullptr, nullptr, dbf.data());
  EXPECT_TRUE(testing::all_close(dx16, dxr, 0, 0));
  EXPECT_TRUE(testing::all_close(dw16, dwr, 0, 0));
  EXPECT_TRUE(testing::all_close(db16, dbf, 0, 0));
}

// A batch-norm + residual model (a strided block with a projection shortcut, a fused
// conv + ReLU, a linear head), built in float32 and in bf16 from the same seed.
model::ModelSpec residual_spec(const std::string& precision, const std::string& algo = "auto") {
  nlohmann::json j = nlohmann::json::parse(R"({
    "name": "bn_residual", "input": {"channels": 3, "height": 12, "width": 12},
    "layers": [
      {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1, "bias": false},
      {"type": "batchnorm2d"}, {"type": "relu"},
      {"type": "residual", "layers": [
        {"type": "conv2d", "out_channels": 32, "kernel_size": 3, "stride": 2, "padding": 1,
         "bias": false},
        {"type": "batchnorm2d"}, {"type": "relu"},
        {"type": "conv2d", "out_channels": 32, "kernel_size": 3, "padding": 1, "bias": false},
        {"type": "batchnorm2d"}],
       "shortcut": [{"type": "conv2d", "out_channels": 32, "kernel_size": 1, "stride": 2,
                     "bias": false}, {"type": "batchnorm2d"}]},
      {"type": "relu"},
      {"type": "conv2d", "out_channels": 24, "kernel_size": 3, "padding": 1},
      {"type": "relu"},
      {"type": "global_avgpool2d"}, {"type": "flatten"},
      {"type": "linear", "out_features": 10}],
    "training": {}})");
  j["training"]["precision"] = precision;
  j["training"]["conv_algo"] = algo;
  return model::parse_config(j);
}

struct Step {
  double loss = 0;
  std::vector<std::vector<float>> grads, weights;  // per parameter, after one SGD step
};

Step one_step(const std::string& precision, const Tensor& x, const std::vector<int32_t>& labels,
              const std::string& algo = "auto") {
  auto net = model::build_model(residual_spec(precision, algo));
  optim::SGD sgd(net->parameters(), {.lr = 0.1, .momentum = 0.9});
  sgd.zero_grad();
  Variable loss = ops::softmax_cross_entropy(net->forward(Variable(x)), labels);
  autograd::backward(loss);
  Step s;
  s.loss = loss.data()[0];
  for (auto& p : net->parameters()) s.grads.push_back(p.var.grad().to_vector());
  sgd.step();
  for (auto& p : net->parameters()) s.weights.push_back(p.var.data().to_vector());
  return s;
}

// The largest difference between a and b relative to b's largest magnitude.
double relative_to_max(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, top = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::abs(a[i] - b[i])));
    top = std::max(top, static_cast<double>(std::abs(b[i])));
  }
  return top > 0 ? diff / top : diff;
}

// The cosine of the angle between a and b.
double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

TEST(Bf16, ATrainingStepIsTheReferenceStepOnRoundedOperandsAndCloseToFloat32) {
  core::Rng rng(9);
  const Tensor x = Tensor::randn({16, 3, 12, 12}, rng);
  std::vector<int32_t> labels(16);
  for (auto& l : labels) l = static_cast<int32_t>(rng.uniform_int(10));
  const Step f32 = one_step("float32", x, labels);
  const Step bf = one_step("bf16", x, labels);
  // The reference: the same step with the naive float32 loops on bfloat16-rounded operands
  // (conv_algo naive in bf16; batch norm, the loss and the optimizer float32 in both). The bf16
  // kernels differ from it in summation order only: bound 1e-3 of each gradient's largest
  // magnitude (measured: 1.5e-4 at most, the first conv's, whose error passes through all the
  // others' backward).
  const Step ref = one_step("bf16", x, labels, "naive");
  EXPECT_NEAR(bf.loss, ref.loss, 1e-5 * ref.loss);
  ASSERT_EQ(bf.grads.size(), f32.grads.size());
  for (size_t i = 0; i < bf.grads.size(); ++i) {
    EXPECT_LT(relative_to_max(bf.grads[i], ref.grads[i]), 1e-3) << "parameter " << i;
    EXPECT_LT(relative_to_max(bf.weights[i], ref.weights[i]), 1e-3) << "parameter " << i;
  }
  // Against float32: each operand rounded to 8 significant bits moves single entries of a
  // freshly initialised model's gradients, sums of many cancelling terms, by up to ~10 % of their
  // largest (measured); the loss within 0.5 % and each gradient's direction within 8 degrees
  // (cosine > 0.99) are the bound. And they are not float32's: the rounding really happened.
  EXPECT_NEAR(bf.loss, f32.loss, 0.005 * f32.loss);
  double worst = 0;
  for (size_t i = 0; i < bf.grads.size(); ++i) {
    EXPECT_GT(cosine(bf.grads[i], f32.grads[i]), 0.99) << "parameter " << i;
    worst = std::max(worst, relative_to_max(bf.grads[i], f32.grads[i]));
  }
  EXPECT_GT(worst, 1e-3);
}

TEST(Bf16, TheTwoPathsTakeTheSameStepUpToSummationOrder) {
  core::Rng rng(10);
  const Tensor x = Tensor::randn({8, 3, 12, 12}, rng);
  std::vector<int32_t> labels(8);
  for (auto& l : labels) l = static_cast<int32_t>(rng.uniform_int(10));
  Step native, portable;
  {
    const Bf16Path path(false);
    native = one_step("bf16", x, labels);
  }
  {
    const Bf16Path path(true);
    portable = one_step("bf16", x, labels);
  }
  EXPECT_NEAR(native.loss, portable.loss, 1e-5 * native.loss);
  for (size_t i = 0; i < native.grads.size(); ++i) {
    EXPECT_LT(relative_to_max(portable.grads[i], native.grads[i]), 1e-4) << "parameter " << i;
  }
}

}  // namespace
}  // namespace tinycnn
