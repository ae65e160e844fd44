// `tinycnn quantize` (docs/cli.md) as a process: a trained model on a learnable set to an int8
// file that eval and predict take, its per-layer report, and the files and inputs it refuses.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "run.hpp"
#include "tiny_run.hpp"

namespace tinycnn::testing {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

class QuantizeCli : public TinyRun {
 protected:
  void SetUp() override {
    TinyRun::SetUp();
    learnable_ = write_learnable(path("learnable"));
    json c = tiny_config();
    c["training"]["epochs"] = 4;
    c["layers"] = json::parse(R"([
      {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1, "bias": false},
      {"type": "batchnorm2d"}, {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
      {"type": "residual", "layers": [
        {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1}]},
      {"type": "relu"}, {"type": "flatten"}, {"type": "linear", "out_features": 10}])");
    config_ = dir_.write("net.json", c.dump());
    const RunResult r = run_tinycnn({"train", config_, "--data", learnable_, "--out", path("run")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    checkpoint_ = path("run/checkpoint.safetensors");
  }
  RunResult quantize(const std::string& out, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"quantize", config_, "--checkpoint", checkpoint_,
                                  "--out",    out,     "--data",       learnable_};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_tinycnn(args);
  }
  json eval(const std::string& checkpoint) {
    const RunResult r =
        run_tinycnn({"eval", config_, "--data", learnable_, "--checkpoint", checkpoint, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? json::parse(r.out) : json();
  }
  std::string learnable_, checkpoint_;
};

TEST_F(QuantizeCli, AnInt8FileThatEvalAndPredictTake) {
  const std::string int8 = path("net.int8.safetensors");
  RunResult r = quantize(int8, {"--calibration", "200", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc["calibration_images"], 200);
  EXPECT_EQ(doc["method"], "minmax");
  ASSERT_EQ(doc["layers"].size(), 5u);  // conv+bn+relu, pool, the block's conv, the block, linear
  EXPECT_EQ(doc["layers"][0]["covers"], "conv2d + batchnorm2d + relu");
  EXPECT_EQ(doc["layers"][3]["covers"], "residual + relu");
  for (const auto& l : doc["layers"]) {
    if (!l["sqnr_db"].is_null()) {
      EXPECT_GT(l["sqnr_db"].get<double>(), 20.0) << l.dump();
    }
  }
  EXPECT_LT(doc["int8_bytes"].get<double>(), 0.5 * doc["checkpoint_bytes"].get<double>());
  const json f = eval(checkpoint_), q = eval(int8);
  EXPECT_EQ(f["precision"], "float32");
  EXPECT_EQ(q["precision"], "int8");
  EXPECT_GT(f["test_accuracy"].get<double>(), 0.9);
  EXPECT_NEAR(q["test_accuracy"].get<double>(), f["test_accuracy"].get<double>(), 0.03);
  // --batch-size: the same numbers at another batch size, float and int8
  for (const auto& [file, want] : {std::pair{checkpoint_, f}, std::pair{int8, q}}) {
    const RunResult b = run_tinycnn({"eval", config_, "--data", learnable_, "--checkpoint", file,
                                     "--batch-size", "7", "--json"});
    ASSERT_EQ(b.exit_code, 0) << b.err;
    EXPECT_EQ(json::parse(b.out)["confusion"], want["confusion"]) << file;
  }
  // predict: the same top class as the float model on a test image.
  const std::string image = path("row3.pgm");
  std::string pgm = "P5\n8 8\n255\n";
  for (int p = 0; p < 64; ++p) pgm.push_back(static_cast<char>(p / 8 == 3 ? 220 : 30));
  write_file(image, pgm);
  const auto top = [&](const std::string& checkpoint) {
    const RunResult p =
        run_tinycnn({"predict", config_, "--checkpoint", checkpoint, image, "--json"});
    EXPECT_EQ(p.exit_code, 0) << p.err;
    return p.exit_code == 0 ? json::parse(p.out)["predictions"][0]["top"][0]["class"] : json();
  };
  EXPECT_EQ(top(int8), top(checkpoint_));
  // export: ONNX's quantized operators (OpenCV runs them in export_test)
  r = run_tinycnn({"export", config_, "--checkpoint", int8, "--onnx", path("m.onnx"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["precision"], "int8");
  EXPECT_GT(fs::file_size(path("m.onnx")), 1000u);
  // profile: the int8 layers timed beside the float ones, and both whole forwards.
  r = run_tinycnn({"profile", "--model", config_, "--int8", int8, "--batch", "2", "--repeats", "1",
                   "--warmup", "0", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json prof = json::parse(r.out);
  ASSERT_EQ(prof["layers"].size(), 6u);  // quantize's rows and the flatten
  EXPECT_EQ(prof["layers"][2]["covers"], "residual + relu");
  EXPECT_EQ(prof["layers"][3]["depth"], 1);  // the block's conv, inside it
  EXPECT_EQ(prof["layers"][4]["covers"], "flatten");
  for (const auto& l : prof["layers"]) {
    EXPECT_GE(l["int8_ms"].get<double>(), 0.0) << l.dump();
    EXPECT_GE(l["float32_ms"].get<double>(), 0.0) << l.dump();
  }
  EXPECT_GT(prof["layers"][0]["int8_ms"].get<double>(), 0.0);
  EXPECT_GT(prof["layers"][0]["float32_ms"].get<double>(), 0.0);
  EXPECT_GT(prof["int8_forward_ms"].get<double>(), 0.0);
  EXPECT_GT(prof["float32_forward_ms"].get<double>(), 0.0);
  // Another calibration method: named in the report and the file's metadata.
  r = quantize(path("entropy.safetensors"), {"--method", "entropy", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["method"], "entropy");
  EXPECT_NEAR(eval(path("entropy.safetensors"))["test_accuracy"].get<double>(),
              f["test_accuracy"].get<double>(), 0.05);
  // The text report: one row per int8 layer and the file's size.
  r = quantize(path("again.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("layers.4.layers.0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("wrote " + path("again.safetensors")), std::string::npos) << r.out;
}

// An int8 file where a float checkpoint is needed (or of another config), a float model of another
// config, no calibration images, a layer int8 cannot run: one error line each, nothing written.
TEST_F(QuantizeCli, RefusesWhatItCannotUse) {
  const std::string int8 = path("net.int8.safetensors");
  ASSERT_EQ(quantize(int8).exit_code, 0);
  const auto refused = [&](const std::vector<std::string>& args, int code,
                           const std::string& says) {
    const RunResult r = run_tinycnn(args);
    EXPECT_EQ(r.exit_code, code) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
  };
  const std::string needs_float = "an int8 model (written by tinycnn quantize)";
  refused({"train", config_, "--data", learnable_, "--out", path("a"), "--init", int8}, 1,
          needs_float);
  refused({"train", config_, "--data", learnable_, "--out", path("b"), "--resume", int8}, 1,
          needs_float);
  refused({"quantize", config_, "--checkpoint", int8, "--out", path("c.safetensors"), "--data",
           learnable_},
          1, "already an int8 model");
  json other = tiny_config();
  const std::string other_config = dir_.write("other.json", other.dump());
  refused({"eval", other_config, "--checkpoint", int8, "--data", learnable_}, 1,
          "an int8 model of another config");
  refused({"export", other_config, "--checkpoint", int8, "--onnx", path("m.onnx")}, 1,
          "an int8 model of another config");
  refused({"profile", "--model", config_, "--int8", checkpoint_}, 1,
          "expected tinycnn-int8-1 (an int8 model)");
  refused({"profile", "--int8", int8}, 2, "--int8 requires --model");
  refused({"eval", config_, "--checkpoint", int8, "--data", learnable_, "--batch-size", "0"}, 2,
          "--batch-size: Value 0 not in range");
  refused({"quantize", config_, "--checkpoint", checkpoint_, "--out", path("d.safetensors"),
           "--data", learnable_, "--calibration", "0"},
          2, "--calibration: expected at least 1 image, got 0");
  refused({"quantize", config_, "--checkpoint", checkpoint_, "--out", path("d.safetensors"),
           "--data", learnable_, "--method", "kl"},
          2, "--method: kl not in {minmax,percentile,entropy}");
  json tanh = json::parse(slurp(config_));
  tanh["layers"][2] = {{"type", "tanh"}};
  const std::string tanh_config = dir_.write("tanh.json", tanh.dump());
  refused({"quantize", tanh_config, "--checkpoint", checkpoint_, "--out", path("e.safetensors"),
           "--data", learnable_},
          2, "layers.2 (tanh) has no int8 form");
  for (const char* f : {"a/checkpoint.safetensors", "b/checkpoint.safetensors", "c.safetensors",
                        "d.safetensors", "e.safetensors", "m.onnx"}) {
    EXPECT_FALSE(fs::exists(path(f))) << f;
  }
}

}  // namespace
}  // namespace tinycnn::testing
