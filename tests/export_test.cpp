// The ONNX exporter: the graph it writes (nodes, initializers named like the checkpoint's
// tensors, the symbolic batch, metadata), and the same logits as tinycnn's from an independent
// runtime, OpenCV's DNN module (tests/export/opencv_logits.py, run by Debian's python3).
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "export/onnx_export.hpp"
#include "export/onnx_int8_export.hpp"
#include "model/builder.hpp"
#include "model/spec.hpp"
#include "nn/module.hpp"
#include "nn/simple_layers.hpp"
#include "quant/quantize.hpp"
#include "quant_models.hpp"

namespace tinycnn::exporter {
namespace {

namespace fs = std::filesystem;
using tensor::Shape;
using tensor::Tensor;

const std::string kConfigs = TINYCNN_CONFIG_DIR;

class Scratch {
 public:
  Scratch() {
    std::random_device rd;
    path_ = fs::temp_directory_path() /
            ("tinycnn-export-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// Batch norm's running statistics away from their initial 0 and 1, so that the export of the
// inference form is really tested.
void randomise_running_statistics(nn::Sequential& net) {
  core::Rng rng(99);
  nn::walk(net, [&](const std::string&, nn::Module& layer, int) {
    for (auto& b : layer.buffers()) {
      if (!b.f32) continue;
      for (int64_t i = 0; i < b.f32->numel(); ++i) {
        const float u = static_cast<float>(rng.uniform_int(1000)) / 1000.0f;
        (*b.f32)[i] = b.name == "running_var" ? 0.5f + u : u - 0.5f;
      }
    }
  });
}

std::unique_ptr<nn::Sequential> build(const model::ModelSpec& spec) {
  auto net = model::build_model(spec);
  randomise_running_statistics(*net);
  net->set_training(false);
  return net;
}

Tensor random_batch(const Shape& example, int64_t n, uint64_t seed) {
  std::vector<int64_t> dims{n};
  for (const int64_t d : example.dims()) dims.push_back(d);
  core::Rng rng(seed);
  return Tensor::randn(Shape(dims), rng);
}

onnx::ModelProto parse(const OnnxModel& m) {
  onnx::ModelProto proto;
  EXPECT_TRUE(proto.ParseFromString(m.bytes));
  return proto;
}

model::ModelSpec inline_spec(const std::string& layers) {
  return model::parse_config(nlohmann::json::parse(
      R"({"name": "every_layer", "input": {"channels": 2, "height": 12, "width": 12},
          "layers": )" +
      layers + R"(, "training": {"weight_init": "pytorch", "classes": ["a", "b", "c"]}})"));
}

const char* kEveryLayer = R"([
  {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
  {"type": "batchnorm2d"}, {"type": "relu"},
  {"type": "avgpool2d", "kernel_size": 3, "stride": 1, "padding": 1},
  {"type": "residual", "layers": [
    {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "stride": 2, "padding": 1, "groups": 2},
    {"type": "batchnorm2d", "affine": false}, {"type": "tanh"}],
   "shortcut": [{"type": "conv2d", "out_channels": 6, "kernel_size": 1, "stride": 2,
                 "bias": false}]},
  {"type": "residual", "layers": [{"type": "conv2d", "out_channels": 6, "kernel_size": 3,
                                   "padding": 1}]},
  {"type": "maxpool2d", "kernel_size": 2}, {"type": "global_avgpool2d"},
  {"type": "flatten"}, {"type": "dropout", "p": 0.5},
  {"type": "linear", "out_features": 8}, {"type": "batchnorm1d"}, {"type": "sigmoid"},
  {"type": "linear", "out_features": 3}])";

// layernorm over [C, H, W] with and without its affine, groupnorm as instance norm.
const char* kNorms = R"([
  {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
  {"type": "layernorm"}, {"type": "relu"},
  {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1},
  {"type": "groupnorm", "num_groups": 4, "eps": 1e-3}, {"type": "tanh"},
  {"type": "layernorm", "affine": false},
  {"type": "flatten"}, {"type": "linear", "out_features": 3}])";

TEST(OnnxExport, GroupNormIsReshapeInstanceNormReshapeMulAdd) {
  const model::ModelSpec spec = inline_spec(kNorms);
  auto net = build(spec);
  const onnx::ModelProto proto = parse(export_onnx(*net, model::input_shape(spec), {}));
  std::vector<std::string> ops;
  for (const auto& n : proto.graph().node()) ops.push_back(n.op_type());
  const std::vector<std::string> expected{"Conv",
                                          "Reshape",
                                          "InstanceNormalization",
                                          "Reshape",
                                          "Mul",
                                          "Add",
                                          "Relu",
                                          "Conv",
                                          "Reshape",
                                          "InstanceNormalization",
                                          "Reshape",
                                          "Mul",
                                          "Add",
                                          "Tanh",
                                          "Reshape",
                                          "InstanceNormalization",
                                          "Reshape",  // no affine
                                          "Flatten",
                                          "Gemm"};
  EXPECT_EQ(ops, expected);
  std::map<std::string, std::vector<int64_t>> dims;
  for (const auto& i : proto.graph().initializer()) {
    dims[i.name()] = std::vector<int64_t>(i.dims().begin(), i.dims().end());
  }
  EXPECT_EQ(dims.at("layers.1.weight"), (std::vector<int64_t>{4, 12, 12}));  // the checkpoint's
  EXPECT_EQ(dims.at("layers.4.weight"), (std::vector<int64_t>{4, 1, 1}));    // [C] broadcast
  EXPECT_EQ(dims.count("layers.6.weight"), 0u);
}

TEST(OnnxExport, OneNodePerLayerAndTheCheckpointsNames) {
  const model::ModelSpec spec = inline_spec(kEveryLayer);
  auto net = build(spec);
  const OnnxModel m = export_onnx(*net, model::input_shape(spec),
                                  {.model_name = "every_layer",
                                   .classes = {"a", "b", "c"},
                                   .mean = {0.5, 0.25},
                                   .std = {0.2, 0.1}});
  const onnx::ModelProto proto = parse(m);
  ASSERT_EQ(proto.opset_import_size(), 1);
  EXPECT_EQ(proto.opset_import(0).version(), 13);
  std::vector<std::string> ops;
  for (const auto& n : proto.graph().node()) ops.push_back(n.op_type());
  const std::vector<std::string> expected{"Conv",        "BatchNormalization",
                                          "Relu",        "Pad",
                                          "AveragePool",  // padded average
                                          "Conv",        "BatchNormalization",
                                          "Tanh",        "Conv",
                                          "Add",  // projection block
                                          "Conv",        "Add",
                                          "MaxPool",     "GlobalAveragePool",
                                          "Flatten",  // identity block
                                          "Gemm",        "BatchNormalization",
                                          "Sigmoid",     "Gemm"};  // dropout omitted
  EXPECT_EQ(ops, expected);
  EXPECT_EQ(m.nodes, static_cast<int64_t>(expected.size()));
  EXPECT_EQ(proto.graph().node().rbegin()->output(0), "logits");

  // Every parameter and running statistic under its checkpoint name; num_batches_tracked is
  // not an input of inference.
  std::map<std::string, std::vector<int64_t>> initializers;
  for (const auto& t : proto.graph().initializer()) {
    initializers[t.name()] = std::vector<int64_t>(t.dims().begin(), t.dims().end());
  }
  for (auto& p : net->parameters()) {
    ASSERT_TRUE(initializers.count(p.name)) << p.name;
    EXPECT_EQ(initializers[p.name], p.var.data().shape().dims()) << p.name;
  }
  nn::walk(*net, [&](const std::string& name, nn::Module& layer, int) {
    for (const auto& b : layer.buffers()) {
      EXPECT_EQ(initializers.count(name + "." + b.name), b.f32 ? 1u : 0u) << name << b.name;
    }
  });
  EXPECT_TRUE(initializers.count("layers.4.layers.1.onnx_scale"));  // affine: false
  EXPECT_EQ(initializers["layers.3.pads"], std::vector<int64_t>{8});
  EXPECT_EQ(m.initializers, static_cast<int64_t>(initializers.size()));

  // input [N, 2, 12, 12] and logits [N, 3], N symbolic.
  const auto dims = [](const onnx::ValueInfoProto& v) {
    std::vector<std::string> out;
    for (const auto& d : v.type().tensor_type().shape().dim()) {
      out.push_back(d.has_dim_param() ? d.dim_param() : std::to_string(d.dim_value()));
    }
    return out;
  };
  ASSERT_EQ(proto.graph().input_size(), 1);
  EXPECT_EQ(proto.graph().input(0).name(), "input");
  EXPECT_EQ(dims(proto.graph().input(0)), (std::vector<std::string>{"N", "2", "12", "12"}));
  EXPECT_EQ(proto.graph().output(0).name(), "logits");
  EXPECT_EQ(dims(proto.graph().output(0)), (std::vector<std::string>{"N", "3"}));

  std::map<std::string, std::string> meta;
  for (const auto& e : proto.metadata_props()) meta[e.key()] = e.value();
  EXPECT_EQ(meta["name"], "every_layer");
  EXPECT_EQ(meta["classes"], R"(["a","b","c"])");
  EXPECT_EQ(meta["normalize_mean"], "[0.5,0.25]");
  EXPECT_EQ(meta["normalize_std"], "[0.2,0.1]");
  EXPECT_EQ(meta["tinycnn_version"], TINYCNN_VERSION);
}

// A layer ONNX has no form for is named.
class Custom : public nn::Module {
 public:
  nn::LayerKind kind() const override { return nn::LayerKind::Custom; }
  std::string type() const override { return "custom"; }
  Shape output_shape(const Shape& in) const override { return in; }

 protected:
  autograd::Variable apply(const autograd::Variable& x, const nn::StepContext&) override {
    return x;
  }
};

TEST(OnnxExport, ALayerWithoutAnOnnxFormIsNamed) {
  nn::Sequential net;
  net.add(std::make_unique<nn::Flatten>());
  net.add(std::make_unique<Custom>());
  try {
    (void)export_onnx(net, {1, 2, 2}, OnnxMetadata{});
    FAIL() << "expected an error";
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(), "export: layer layers.1 (custom) has no ONNX form");
  }
}

// tinycnn's logits next to OpenCV's for the same exported model and input.
struct RuntimeCase {
  std::string name;
  std::string config;  // a file in configs/, or inline layers
};

class OpenCvRuntime : public ::testing::TestWithParam<RuntimeCase> {};

std::vector<float> opencv_logits(const Scratch& dir, const std::string& onnx_path,
                                 const Tensor& x) {
  const std::string in = dir.file("input.f32"), out = dir.file("logits.f32"),
                    err = dir.file("stderr.txt");
  std::ofstream(in, std::ios::binary)
      .write(reinterpret_cast<const char*>(x.data()),
             static_cast<std::streamsize>(x.numel() * static_cast<int64_t>(sizeof(float))));
  std::ostringstream command;
  command << TINYCNN_SYSTEM_PYTHON << " " << TINYCNN_OPENCV_SCRIPT << " " << onnx_path << " " << in;
  for (const int64_t d : x.shape().dims()) command << " " << d;
  command << " " << out << " 2>" << err;
  const int status = std::system(command.str().c_str());
  std::ifstream e(err);
  const std::string message((std::istreambuf_iterator<char>(e)), std::istreambuf_iterator<char>());
  EXPECT_EQ(status, 0) << command.str() << "\n" << message;
  std::ifstream f(out, std::ios::binary);
  std::vector<float> y;
  float v = 0;
  while (f.read(reinterpret_cast<char*>(&v), sizeof v)) y.push_back(v);
  return y;
}

TEST_P(OpenCvRuntime, GivesTinycnnsLogitsAtBatch1And7) {
  const RuntimeCase& c = GetParam();
  const model::ModelSpec spec = c.config.ends_with(".json")
                                    ? model::load_config(kConfigs + "/" + c.config)
                                    : inline_spec(c.config);
  auto net = build(spec);
  const Shape example = model::input_shape(spec);
  Scratch dir;
  const std::string path = dir.file(c.name + ".onnx");
  const OnnxModel m = export_onnx(*net, example, OnnxMetadata{spec.name, {}, {}, {}});
  std::ofstream(path, std::ios::binary) << m.bytes;
  for (const int64_t n : {1, 7}) {
    const Tensor x = random_batch(example, n, 17 + static_cast<uint64_t>(n));
    Tensor expected;
    {
      autograd::NoGradGuard no_grad;
      expected = net->forward(autograd::Variable(x)).data().clone();
    }
    const std::vector<float> got = opencv_logits(dir, path, x);
    ASSERT_EQ(got.size(), static_cast<size_t>(expected.numel())) << "batch " << n;
    const int64_t k = expected.dim(1);
    for (int64_t i = 0; i < n; ++i) {
      float scale = 0;  // relative to the row's largest logit
      for (int64_t j = 0; j < k; ++j) scale = std::max(scale, std::abs(expected[i * k + j]));
      for (int64_t j = 0; j < k; ++j) {
        EXPECT_NEAR(got[static_cast<size_t>(i * k + j)], expected[i * k + j],
                    1e-4f * std::max(scale, 1e-3f))
            << "batch " << n << " example " << i << " logit " << j;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, OpenCvRuntime,
    ::testing::Values(RuntimeCase{"lenet5", "lenet5.json"},
                      RuntimeCase{"lenet5_classic", "lenet5_classic.json"},  // tanh, avg pool
                      RuntimeCase{"mobile_cnn", "mobile_cnn.json"},  // grouped and depthwise
                      RuntimeCase{"resnet_fashion", "resnet_fashion.json"},  // bn, blocks, GAP
                      RuntimeCase{"every_layer", kEveryLayer},
                      RuntimeCase{"lenet5_gn", "lenet5_gn.json"},  // groupnorm, layernorm [F]
                      RuntimeCase{"norms", kNorms}),
    [](const auto& test) { return test.param.name; });

// The int8 export (ONNX's quantized operators) run by OpenCV against tinycnn's own int8 forward
// of the same quantized model: inside, both compute the same integers (the same scales, zero
// points and round-half-to-even requantization), so every image's arg-max is the same and each
// logit differs by float rounding only — bounded here by 1e-3 of one output step, the logit a
// single input level of the last layer moves by (input scale × the channel's largest weight).
class OpenCvInt8Runtime : public ::testing::TestWithParam<RuntimeCase> {};

TEST_P(OpenCvInt8Runtime, GivesTinycnnsInt8Logits) {
  const RuntimeCase& c = GetParam();
  const model::ModelSpec spec = c.config.ends_with(".json")
                                    ? model::load_config(kConfigs + "/" + c.config)
                                    : model::parse_config(nlohmann::json::parse(c.config));
  auto net = quant::trained_like(spec);
  const Shape example = model::input_shape(spec);
  const data::Dataset calibration = quant::byte_images(64, example[0], example[1], example[2], 5);
  const quant::QuantizeResult r = quant::quantize(*net, example, calibration, quant::kNorm, 64);
  Scratch dir;
  const std::string path = dir.file(c.name + ".int8.onnx");
  std::ofstream(path, std::ios::binary)
      << export_int8_onnx(r.net, OnnxMetadata{spec.name, {}, {}, {}}).bytes;
  // normal values: bytes normalised by kNorm would sit on the input's half steps, ties any
  // two float evaluations of x / scale may round apart
  const Tensor x = random_batch(example, 40, 6);
  const Tensor want = quant::run(r.net, x);
  const std::vector<float> got = opencv_logits(dir, path, x);
  ASSERT_EQ(got.size(), static_cast<size_t>(want.numel()));
  const quant::QLayer& last = r.net.layers.back();
  const int64_t k = want.dim(1);
  float worst = 0;
  for (int64_t i = 0; i < 40; ++i) {
    int64_t a = 0, b = 0;
    for (int64_t j = 0; j < k; ++j) {
      const float step = last.in.scale * last.weight_scale[static_cast<size_t>(j)] * 127.0f;
      const float diff = std::abs(got[static_cast<size_t>(i * k + j)] - want[i * k + j]);
      worst = std::max(worst, diff / step);
      if (want[i * k + j] > want[i * k + a]) a = j;
      if (got[static_cast<size_t>(i * k + j)] > got[static_cast<size_t>(i * k + b)]) b = j;
    }
    EXPECT_EQ(a, b) << "example " << i;
  }
  EXPECT_LT(worst, 1e-3f) << "the largest logit difference, in output steps";
}

INSTANTIATE_TEST_SUITE_P(Models, OpenCvInt8Runtime,
                         ::testing::Values(RuntimeCase{"lenet5", "lenet5.json"},
                                           RuntimeCase{"mobile_cnn",
                                                       "mobile_cnn.json"},  // depthwise
                                           RuntimeCase{"resnet_fashion", "resnet_fashion.json"},
                                           RuntimeCase{"every_kind", quant::kEveryKind}),
                         [](const auto& test) { return test.param.name; });

}  // namespace
}  // namespace tinycnn::exporter
