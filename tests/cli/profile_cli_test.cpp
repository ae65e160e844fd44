// `tinycnn profile` run as a process: the documented JSON fields, CSV, a sweep's SVG chart, the
// per-layer step profile, and usage errors. Small cases and one repeat keep it quick.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "run.hpp"

namespace tinycnn::testing {
namespace {

using nlohmann::json;

class ProfileCli : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = dir_.write("tiny.json", R"({
      "name": "tiny", "input": {"channels": 1, "height": 12, "width": 10},
      "layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
                 {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
                 {"type": "conv2d", "out_channels": 6, "kernel_size": [3, 2], "stride": 2},
                 {"type": "flatten"}, {"type": "linear", "out_features": 3}]})");
  }
  TempDir dir_;
  std::string config_;
};

int count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

TEST_F(ProfileCli, ConvJsonHasTheSpecFields) {
  const RunResult r = run_tinycnn({"profile", "--conv", "--config", config_, "--batch", "2",
                                   "--repeats", "1", "--warmup", "0", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_TRUE(doc["machine"].contains("peak_gflops"));
  ASSERT_EQ(doc["cases"].size(), 2u);
  const json& c = doc["cases"][1];
  EXPECT_EQ(c["input_shape"], json({2, 4, 6, 5}));
  EXPECT_EQ(c["out_channels"], 6);
  EXPECT_EQ(c["kernel_size"], json({3, 2}));
  EXPECT_EQ(c["stride"], 2);
  // 2 images x 6 channels x 2x2 outputs x (4 x 3 x 2) MACs x 2 FLOPs.
  EXPECT_EQ(c["flops_forward"], 2 * 6 * 2 * 2 * 24 * 2);
  for (const char* algo : {"naive", "im2col", "implicit"}) {
    for (const char* key : {"forward_ms_median", "forward_ms_min", "backward_ms_median",
                            "backward_ms_min", "gflops_forward", "workspace_bytes",
                            "workspace_bytes_allocated", "weight_bytes", "activation_bytes"}) {
      EXPECT_TRUE(c["results"][algo].contains(key)) << algo << "." << key;
    }
  }
  EXPECT_TRUE(doc["cases"][0]["results"].contains("implicit"));  // stride 1, and stride 2 above
  EXPECT_EQ(c["results"]["naive"]["workspace_bytes"], 0);
  EXPECT_EQ(c["results"]["im2col"]["workspace_bytes"], 2 * 4 * 3 * 2 * 2 * 2 * 4);
  EXPECT_EQ(c["results"]["im2col"]["weight_bytes"], 6 * 4 * 3 * 2 * 4);
  for (const char* key : {"speedup_forward", "speedup_backward", "max_abs_diff"}) {
    EXPECT_TRUE(c.contains(key)) << key;
  }
  EXPECT_LE(c["max_rel_diff"].get<double>(), 1e-4);
}

TEST_F(ProfileCli, CsvHasARowPerCaseAndAlgorithm) {
  // a row for each algorithm of both convs (the second has stride 2).
  const RunResult r = run_tinycnn({"profile", "--conv", "--config", config_, "--batch", "1",
                                   "--repeats", "1", "--warmup", "0", "--csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count(r.out, "\n"), 1 + 2 * 4);  // the header, then 4 algorithms x 2 convs
  EXPECT_EQ(r.out.rfind("case,algo,", 0), 0u);
  EXPECT_EQ(count(r.out, ",naive,"), 2);
  EXPECT_EQ(count(r.out, ",implicit,"), 2);
  EXPECT_EQ(count(r.out, ",winograd,"), 2);
}

TEST_F(ProfileCli, SweepWritesAWellFormedChart) {
  const std::string svg_path = (dir_.path() / "sweep.svg").string();
  const RunResult r = run_tinycnn({"profile", "--conv", "--sweep", "size", "--batch", "1",
                                   "--repeats", "1", "--warmup", "0", "--plot", svg_path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("size=64"), std::string::npos) << r.out;
  std::ifstream in(svg_path);
  const std::string svg((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  // 11 series (forward and backward of the 4 algorithms, 3 memory), one path each, 6 sizes ->
  // 5 line segments per path.
  const std::regex path_re("<path [^>]*d=\"M[^\"]*\"");
  int paths = 0;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), path_re);
       it != std::sregex_iterator(); ++it) {
    ++paths;
    EXPECT_EQ(count(it->str(), " L"), 5) << it->str();
  }
  EXPECT_EQ(paths, 11);
  for (const char* label : {"naive forward", "im2col backward", "implicit forward",
                            "winograd backward", "MiB", "input height = width"}) {
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  }
}

TEST_F(ProfileCli, ModelStepPercentagesAddUp) {
  const RunResult r =
      run_tinycnn({"profile", "--model", config_, "--batch", "4", "--repeats", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  double percent = 100.0 * (doc["loss_ms"].get<double>() + doc["optimizer_ms"].get<double>()) /
                   doc["step_ms"].get<double>();
  for (const auto& l : doc["layers"]) percent += l["percent"].get<double>();
  EXPECT_NEAR(percent, 100.0, 1e-6);
  EXPECT_LT(doc["slowest_layer"].get<int>(), 6);
  EXPECT_EQ(doc["memory"]["batch"], 4);
  const RunResult table = run_tinycnn({"profile", "--model", config_, "--repeats", "1"});
  EXPECT_NE(table.out.find("slowest layer"), std::string::npos) << table.out;
}

// --roofline: the picture, and in the JSON document the ceilings and one point per direction
// of each case and fast algorithm (--conv) or of each layer (--model: a conv's three, the
// others' forward and backward), each with its intensity from the analytic bytes.
TEST_F(ProfileCli, RooflineWritesThePictureAndItsPoints) {
  const std::string svg_path = (dir_.path() / "conv_roofline.svg").string();
  RunResult r = run_tinycnn({"profile", "--conv", "--config", config_, "--batch", "2", "--repeats",
                             "1", "--warmup", "0", "--roofline", svg_path, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json doc = json::parse(r.out);
  const json& roof = doc["roofline"];
  EXPECT_GT(roof["peak_gflops"].get<double>(), 0.0);
  EXPECT_GT(roof["dram_gbps"].get<double>(), 0.0);
  EXPECT_GT(roof["l2_gbps"].get<double>(), 0.0);
  EXPECT_NEAR(roof["ridge_intensity"].get<double>(),
              roof["peak_gflops"].get<double>() / roof["dram_gbps"].get<double>(), 1e-9);
  // Per case, its fast algorithms x 3 directions: the first case is a 3x3 stride-1 layer that
  // Winograd serves, the second (3x2, stride 2) it declines.
  int per_case[2] = {0, 0};
  for (const auto& p : roof["points"]) {
    EXPECT_EQ(p["kind"], "conv2d");
    EXPECT_NE(p["algorithm"], "naive");
    const double intensity = p["flops"].get<double>() / p["bytes"].get<double>();
    EXPECT_NEAR(p["intensity"].get<double>(), intensity, 1e-9 * intensity);
    EXPECT_NEAR(p["gflops"].get<double>(), p["flops"].get<double>() / (p["ms"].get<double>() * 1e6),
                1e-6 * p["gflops"].get<double>());
    per_case[p["layer"] == doc["cases"][0]["name"] ? 0 : 1]++;
  }
  EXPECT_EQ(per_case[0], 3 * 3);  // im2col, implicit, winograd
  EXPECT_EQ(per_case[1], 2 * 3);  // im2col, implicit (Winograd declined: a 3x2 kernel)
  EXPECT_TRUE(doc["cases"][0]["results"]["implicit"].contains("dinput_ms_median"));
  std::ifstream in(svg_path);
  const std::string svg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const char* label :
       {"<svg", "FMA ", "GB/s", "implicit forward", "winograd dweight", "arithmetic intensity"}) {
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  }

  const std::string residual = dir_.write("residual.json", R"({
      "name": "residual", "input": {"channels": 2, "height": 8, "width": 8},
      "layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
                 {"type": "batchnorm2d"}, {"type": "relu"},
                 {"type": "residual", "layers": [
                   {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1}]},
                 {"type": "flatten"}, {"type": "linear", "out_features": 3}]})");
  const std::string model_svg = (dir_.path() / "model_roofline.svg").string();
  r = run_tinycnn({"profile", "--model", residual, "--batch", "4", "--repeats", "1", "--roofline",
                   model_svg, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  doc = json::parse(r.out);
  std::map<std::string, int> kinds;
  for (const auto& p : doc["roofline"]["points"]) {
    kinds[p["kind"].get<std::string>() + " " + p["direction"].get<std::string>()]++;
  }
  EXPECT_EQ(kinds["conv2d forward"], 2);
  EXPECT_EQ(kinds["conv2d dinput"], 2);
  EXPECT_EQ(kinds["conv2d dweight"], 2);
  EXPECT_EQ(kinds["batchnorm2d forward"], 1);
  EXPECT_EQ(kinds["batchnorm2d backward"], 1);
  EXPECT_EQ(kinds["relu forward"], 1);
  EXPECT_LE(kinds["add forward"], 1);   // the block's own time: dropped if lost in the noise
  EXPECT_EQ(kinds["add backward"], 0);  // the add's backward does no work of its own
  EXPECT_EQ(kinds["linear backward"], 1);
  EXPECT_EQ(kinds.count("flatten forward"), 0u);
  EXPECT_TRUE(std::filesystem::exists(model_svg));
  r = run_tinycnn(
      {"profile", "--model", residual, "--batch", "4", "--repeats", "1", "--roofline", model_svg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("roofline (" + model_svg + "): FMA peak"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("batchnorm2d backward"), std::string::npos) << r.out;
  // A path that cannot be written is an error before anything is measured.
  r = run_tinycnn(
      {"profile", "--model", residual, "--roofline", (dir_.path() / "no" / "x.svg").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
}

TEST_F(ProfileCli, UsageErrors) {
  EXPECT_EQ(run_tinycnn({"profile"}).exit_code, 2);
  EXPECT_EQ(run_tinycnn({"profile", "--conv", "--plot", "x.svg"}).exit_code, 2);
  EXPECT_EQ(run_tinycnn({"profile", "--conv", "--sweep", "depth"}).exit_code, 2);
  EXPECT_EQ(run_tinycnn({"profile", "--conv", "--json", "--csv"}).exit_code, 2);
  EXPECT_EQ(run_tinycnn({"profile", "--conv", "--model", config_}).exit_code, 2);
  const std::string mlp = std::string(TINYCNN_CONFIG_DIR) + "/mlp.json";
  const RunResult r = run_tinycnn({"profile", "--conv", "--config", mlp});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no conv2d layer"), std::string::npos) << r.err;
}

// 29.2: on a busy machine every figure was wrong and nothing said so. With the cores taken by
// spinning threads of the test process, the timings are marked busy with their evidence, the
// table says so, and --strict refuses to report them.
TEST_F(ProfileCli, TimingsTakenOnABusyMachineAreMarkedAndStrictRefusesThem) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const BusyCores busy(static_cast<int>(2 * cores));
  const std::vector<std::string> conv{"profile", "--conv",    "--config", config_,    "--batch",
                                      "2",       "--repeats", "3",        "--warmup", "0"};
  std::vector<std::string> args = conv;
  args.push_back("--json");
  RunResult r = run_tinycnn(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_TRUE(doc["busy"].get<bool>());
  // The FMA probe's trials (50 ms each) wait for certain; a case's few runs of a fraction of a
  // millisecond may have had their cores throughout, and are then rightly not marked.
  EXPECT_TRUE(doc["machine"]["peak_busy"].get<bool>());
  for (const auto& c : doc["cases"]) {
    for (const auto& [algo, result] : c["results"].items()) {
      const json& evidence = result["contention"];
      EXPECT_EQ(result["busy"].get<bool>(), evidence["wait_share"].get<double>() > 0.05) << algo;
      EXPECT_GE(evidence["runqueue_wait_ms"].get<double>(), 0.0) << algo;
    }
  }
  r = run_tinycnn(conv);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("while the machine was busy"), std::string::npos) << r.out;
  EXPECT_GT(count(r.out, "*"), 0);
  args = conv;
  args.push_back("--strict");
  r = run_tinycnn(args);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("error: profile --strict: "), std::string::npos) << r.err;
  // Enough steps (60 repeats: tens of milliseconds) to be shared for certain.
  const std::vector<std::string> model{"profile", "--model",   config_, "--batch",
                                       "64",      "--repeats", "60"};
  args = model;
  args.push_back("--strict");
  r = run_tinycnn(args);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("while the machine was busy"), std::string::npos) << r.err;
  args = model;
  args.push_back("--json");
  r = run_tinycnn(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(json::parse(r.out)["busy"].get<bool>());
}

}  // namespace
}  // namespace tinycnn::testing
