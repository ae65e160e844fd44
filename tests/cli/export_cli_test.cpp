// `tinycnn export` as a process: the model written and reported, and its errors — one `error:`
// line, a documented exit code, nothing left behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "run.hpp"
#include "tiny_run.hpp"

namespace tinycnn::testing {
namespace {

namespace fs = std::filesystem;

class ExportCli : public TinyRun {
 protected:
  void SetUp() override {
    TinyRun::SetUp();
    const RunResult r = run_tinycnn(train_args(path("run"), {"--threads", "1"}));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    checkpoint_ = path("run/checkpoint.safetensors");
  }
  std::string checkpoint_;
};

TEST_F(ExportCli, WritesTheModelAndReportsItAsJson) {
  const std::string out = path("tiny.onnx");
  const RunResult r =
      run_tinycnn({"export", config_, "--checkpoint", checkpoint_, "--onnx", out, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["onnx"], out);
  EXPECT_EQ(j["opset"], 13);
  EXPECT_EQ(j["nodes"], 5);         // Conv, Relu, MaxPool, Flatten, Gemm
  EXPECT_EQ(j["initializers"], 4);  // two weights, two biases
  EXPECT_EQ(j["bytes"], fs::file_size(out));
  EXPECT_EQ(r.err, "");

  const RunResult text =
      run_tinycnn({"export", config_, "--checkpoint", checkpoint_, "--onnx", out});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("ONNX opset 13, 5 nodes"), std::string::npos) << text.out;
}

TEST_F(ExportCli, AnUnwritablePathIsExit1AndWritesNothing) {
  const std::string out = path("no/such/dir/tiny.onnx");
  const RunResult r = run_tinycnn({"export", config_, "--checkpoint", checkpoint_, "--onnx", out});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("no/such/dir"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(ExportCli, ACheckpointOfAnotherModelIsExit1AndLeavesNoFile) {
  const std::string other = dir_.write("other.json", tiny_config(6).dump());
  const std::string out = path("tiny.onnx");
  const RunResult r = run_tinycnn({"export", other, "--checkpoint", checkpoint_, "--onnx", out});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("layers.0.weight"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
  for (const auto& e : fs::directory_iterator(dir_.path())) {  // no temporary either
    EXPECT_EQ(e.path().filename().string().find(".tinycnn-tmp"), std::string::npos) << e.path();
  }
}

TEST_F(ExportCli, MissingFlagsAreUsageErrors) {
  EXPECT_EQ(run_tinycnn({"export", config_, "--onnx", path("x.onnx")}).exit_code, 2);
  EXPECT_EQ(run_tinycnn({"export", config_, "--checkpoint", checkpoint_}).exit_code, 2);
}

}  // namespace
}  // namespace tinycnn::testing
