// quant: post-training int8 quantization — the quantization of a range, a model of every kind
// int8 runs (batch norm folded, residual blocks, padded average pooling) against its float
// logits, the same integers at any thread count, the file's round trip and its checks, and the
// layers int8 refuses.
#include <gtest/gtest.h>
#include <omp.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "io/safetensors.hpp"
#include "model/builder.hpp"
#include "model/spec.hpp"
#include "quant/calibration.hpp"
#include "quant/int8_file.hpp"
#include "quant/int8_module.hpp"
#include "quant/quantize.hpp"
#include "quant_models.hpp"

namespace tinycnn::quant {
namespace {

tensor::Tensor float_logits(nn::Sequential& net, const data::Dataset& d, int64_t n) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = i;
  tensor::Tensor x;
  std::vector<int32_t> labels;
  d.gather(idx, kNorm, x, labels);
  autograd::NoGradGuard no_grad;
  return net.forward(autograd::Variable(x)).data().clone();
}

TEST(Quant, ARangeMapsZeroExactlyOntoAByte) {
  const Quant relu = quant_of_range(0.0, 2.55);
  EXPECT_FLOAT_EQ(relu.scale, 0.01f);
  EXPECT_EQ(relu.zero, 0);
  const Quant both = quant_of_range(-1.0, 3.0);
  EXPECT_EQ(both.zero, 64);                         // round(1 / (4 / 255))
  const Quant positive = quant_of_range(2.0, 5.1);  // widened to hold 0
  EXPECT_EQ(positive.zero, 0);
  EXPECT_FLOAT_EQ(positive.scale, 0.02f);
  EXPECT_EQ(quant_of_range(0, 0).scale, 1.0f);  // a constant 0: any scale
}

// Every kind int8 runs, batch norm folded: the logits within a few percent of the float
// model's largest logit, the same arg-max almost everywhere, every layer's SQNR above 20 dB.
TEST(Quant, EveryKindFollowsTheFloatModel) {
  const model::ModelSpec spec = model::parse_config(nlohmann::json::parse(kEveryKind));
  auto net = trained_like(spec);
  const data::Dataset calibration = byte_images(300, 2, 10, 10, 1);
  const data::Dataset test = byte_images(200, 2, 10, 10, 2);
  const QuantizeResult r = quantize(*net, model::input_shape(spec), calibration, kNorm, 300);
  EXPECT_EQ(r.calibration_images, 300);
  for (const LayerError& e : r.errors) EXPECT_GT(e.sqnr_db, 20.0) << e.name << " " << e.covers;
  ASSERT_EQ(r.errors.back().name, "layers.15");
  EXPECT_EQ(r.errors.back().covers, "linear");
  EXPECT_EQ(r.errors.front().covers, "conv2d + batchnorm2d + relu");
  const tensor::Tensor want = float_logits(*net, test, 200);
  const tensor::Tensor got = run(r.net, images_of(test, 200));
  ASSERT_EQ(got.shape(), want.shape());
  float largest = 0, worst = 0;
  int agree = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    largest = std::max(largest, std::abs(want[i]));
    worst = std::max(worst, std::abs(want[i] - got[i]));
  }
  for (int64_t i = 0; i < 200; ++i) {
    int64_t a = 0, b = 0;
    for (int64_t j = 1; j < 5; ++j) {
      if (want[i * 5 + j] > want[i * 5 + a]) a = j;
      if (got[i * 5 + j] > got[i * 5 + b]) b = j;
    }
    agree += a == b;
  }
  EXPECT_LT(worst, 0.05f * largest) << worst << " of " << largest;
  EXPECT_GE(agree, 190);
}

// The three calibration methods on known distributions.
TEST(Calibration, MinMaxPercentileAndEntropyRanges) {
  core::Rng rng(21);
  // after a ReLU: half zeros, the rest exponential (mean 1), and 5 outliers at 100
  std::vector<float> relu(200000);
  for (auto& v : relu)
    v = rng.uniform() < 0.5 ? 0.0f : static_cast<float>(-std::log(rng.uniform() + 1e-12));
  for (int i = 0; i < 5; ++i) relu[static_cast<size_t>(i)] = 100.0f;
  const tensor::Tensor t = tensor::Tensor::from_vector(tensor::Shape{200000}, relu);
  Observed o;
  o.add_range(t);
  EXPECT_EQ(o.range(Method::MinMax), (std::pair<double, double>{0.0, 100.0}));
  o.add_histogram(t);
  const auto [plo, phi] = o.range(Method::Percentile);
  EXPECT_EQ(plo, 0.0);
  EXPECT_GT(phi, 6.0);   // the 99.99th percentile of the nonzero values: ln(10^4) = 9.2
  EXPECT_LT(phi, 15.0);  // the outliers cut off
  const auto [elo, ehi] = o.range(Method::Entropy);
  EXPECT_EQ(elo, 0.0);
  EXPECT_GT(ehi, 3.0);  // above the bulk of the values
  EXPECT_LT(ehi, 20.0);
  // a signed tensor: a range symmetric about 0, cut to what was seen
  std::vector<float> signed_values(100000);
  for (auto& v : signed_values) v = static_cast<float>(rng.normal(0.5, 1.0));
  signed_values[0] = -50.0f;
  const tensor::Tensor u = tensor::Tensor::from_vector(tensor::Shape{100000}, signed_values);
  Observed s;
  s.add_range(u);
  s.add_histogram(u);
  for (const Method m : {Method::Percentile, Method::Entropy}) {
    const auto [lo, hi] = s.range(m);
    EXPECT_GT(lo, -10.0) << method_name(m);
    EXPECT_DOUBLE_EQ(lo, -std::min(-lo, s.hi())) << method_name(m);
    EXPECT_LE(hi, s.hi()) << method_name(m);
    EXPECT_GT(hi, 3.0) << method_name(m);
  }
  // nothing but zeros: the whole (empty) range
  Observed z;
  const tensor::Tensor zeros = tensor::Tensor::zeros(tensor::Shape{10});
  z.add_range(zeros);
  z.add_histogram(zeros);
  EXPECT_EQ(z.range(Method::Entropy), (std::pair<double, double>{0.0, 0.0}));
  EXPECT_EQ(parse_method("entropy"), Method::Entropy);
  EXPECT_FALSE(parse_method("kl").has_value());
}

// Each method quantizes the every-kind model to logits that follow the float model's.
TEST(Quant, EveryMethodFollowsTheFloatModel) {
  const model::ModelSpec spec = model::parse_config(nlohmann::json::parse(kEveryKind));
  auto net = trained_like(spec);
  const data::Dataset calibration = byte_images(200, 2, 10, 10, 1);
  for (const Method m : {Method::Percentile, Method::Entropy}) {
    const QuantizeResult r = quantize(*net, model::input_shape(spec), calibration, kNorm, 200, m);
    EXPECT_EQ(r.method, m);
    for (const LayerError& e : r.errors) {
      EXPECT_GT(e.sqnr_db, 12.0) << method_name(m) << " " << e.name << " " << e.covers;
    }
  }
}

TEST(Quant, TheIntegersAreTheSameAtAnyThreadCount) {
  const model::ModelSpec spec = model::parse_config(nlohmann::json::parse(kEveryKind));
  auto net = trained_like(spec);
  const data::Dataset d = byte_images(64, 2, 10, 10, 4);
  const QuantizeResult r = quantize(*net, model::input_shape(spec), d, kNorm, 64);
  const tensor::Tensor x = images_of(d, 64);
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
  const std::vector<float> one = run(r.net, x).to_vector();
  omp_set_num_threads(3);
  const std::vector<float> three = run(r.net, x).to_vector();
  omp_set_num_threads(before);
  EXPECT_EQ(one, three);
  // The portable loops give the integers vpdpbusd gives (where this CPU has it).
  set_portable(true);
  const std::vector<float> loops = run(r.net, x).to_vector();
  set_portable(false);
  EXPECT_EQ(loops, one);
}

class QuantFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tinycnn-quant-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

// Written and read back: the same logits bit for bit, the config and class names kept; a file
// that lies about a shape, a quantization or its format is refused naming the file.
TEST_F(QuantFile, RoundTripsAndRefusesWhatDoesNotFit) {
  const model::ModelSpec spec = model::parse_config(nlohmann::json::parse(kEveryKind));
  auto net = trained_like(spec);
  const data::Dataset d = byte_images(50, 2, 10, 10, 5);
  const QuantizeResult r = quantize(*net, model::input_shape(spec), d, kNorm, 50);
  const std::string file = path("m.int8.safetensors");
  save_int8(file, r, spec.source->dump(), {"a", "b", "c", "d", "e"});
  EXPECT_TRUE(is_int8_file(file));
  const Int8Model m = load_int8(file);
  EXPECT_EQ(m.spec.name, "every_int8_kind");
  EXPECT_EQ(m.classes.size(), 5u);
  EXPECT_EQ(m.calibration_images, 50);
  const tensor::Tensor x = images_of(d, 20);
  EXPECT_EQ(run(m.net, x).to_vector(), run(r.net, x).to_vector());
  // Through the model the float commands run.
  auto model = as_model(load_int8(file).net);
  {
    autograd::NoGradGuard no_grad;
    EXPECT_EQ(model->forward(autograd::Variable(x)).data().to_vector(), run(r.net, x).to_vector());
  }
  const auto expect_refused = [&](const io::SafetensorsFile& f, const std::string& what) {
    const std::string bad = path("bad.safetensors");
    io::write_safetensors(bad, f.tensors, f.metadata, f.ints);
    try {
      load_int8(bad);
      ADD_FAILURE() << "no error for " << what;
    } catch (const core::Error& e) {
      EXPECT_EQ(e.kind(), core::ErrorKind::Runtime);
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  io::SafetensorsFile f = io::read_safetensors(file);
  io::SafetensorsFile wrong = f;
  wrong.ints[0].dims[0] += 1;  // layers.0.bias: 7 values for 6 channels
  wrong.ints[0].values.push_back(0);
  expect_refused(wrong, "layers.0: expected a bias and a weight_scale of 6 values");
  wrong = f;
  wrong.metadata["quant"] = R"({"layers.0": [0, 0]})";
  expect_refused(wrong, "metadata quant");
  wrong = f;
  wrong.metadata["format"] = "tinycnn-checkpoint-1";
  expect_refused(wrong, "metadata format");
  EXPECT_FALSE(is_int8_file(path("nothing")));
}

TEST(Quant, LayersWithoutAnInt8FormAreRefusedByName) {
  nlohmann::json c = nlohmann::json::parse(kEveryKind);
  c["layers"][2] = {{"type", "tanh"}};
  auto net = model::build_model(model::parse_config(c));
  try {
    plan(*net, {2, 10, 10});
    FAIL() << "no error";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("quantize: layer layers.2 (tanh) has no int8 form"),
              std::string::npos)
        << e.what();
  }
  c = nlohmann::json::parse(kEveryKind);
  c["layers"].push_back({{"type", "relu"}});
  net = model::build_model(model::parse_config(c));
  EXPECT_THROW(plan(*net, {2, 10, 10}), core::Error);  // must end in a linear layer
}

}  // namespace
}  // namespace tinycnn::quant
