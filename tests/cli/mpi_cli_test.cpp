// `mpirun -np 2 tinycnn train` (docs/distributed.md) on loopback: two ranks follow one process
// (batch norm's statistics over the whole global batch included), resume across rank counts,
// one writer and one error line, and a killed rank ends the job with the checkpoint intact.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "io/safetensors.hpp"
#include "run.hpp"
#include "tiny_run.hpp"

namespace tinycnn::testing {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kTwoRanks{"mpirun", "--oversubscribe", "--allow-run-as-root", "-np",
                                         "2"};

// conv + batch norm + relu, a residual block with batch norm, pooling, linear: on 8 x 8 images.
nlohmann::json batch_norm_config() {
  nlohmann::json c = tiny_config();
  c["name"] = "tiny_bn";
  c["layers"] = nlohmann::json::parse(R"([
    {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1, "bias": false},
    {"type": "batchnorm2d"}, {"type": "relu"},
    {"type": "residual", "layers": [
      {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1, "bias": false},
      {"type": "batchnorm2d"}]},
    {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2}, {"type": "flatten"},
    {"type": "linear", "out_features": 10}])");
  return c;
}

// The same with group norm and layer norm: nothing shared between the ranks but the gradients.
nlohmann::json group_norm_config() {
  nlohmann::json c = batch_norm_config();
  c["name"] = "tiny_gn";
  c["layers"][1] = {{"type", "groupnorm"}, {"num_groups", 2}};
  c["layers"][3]["layers"][1] = {{"type", "layernorm"}};
  return c;
}

class MpiCli : public TinyRun {
 protected:
  RunResult train(const std::string& config, const std::string& out, bool two_ranks,
                  std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--threads", "1",     "train",   config,  "--data",
                                  data_,       "--out", path(out), "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunSetup setup;
    if (two_ranks) setup.launcher = kTwoRanks;
    return run_tinycnn(args, setup);
  }
  std::map<std::string, std::vector<float>> weights(const std::string& out) {
    std::map<std::string, std::vector<float>> w;
    for (const auto& t : io::read_safetensors(path(out) + "/checkpoint.safetensors").tensors) {
      if (t.name.rfind("optimizer.", 0) == 0) continue;
      w[t.name] = std::vector<float>(t.tensor.data(), t.tensor.data() + t.tensor.numel());
    }
    return w;
  }
  // Every weight of the two runs equal to float rounding.
  void expect_same_weights(const std::string& a, const std::string& b) {
    const auto wa = weights(a), wb = weights(b);
    ASSERT_EQ(wa.size(), wb.size());
    ASSERT_FALSE(wa.empty());
    for (const auto& [name, values] : wa) {
      const auto& other = wb.at(name);
      ASSERT_EQ(values.size(), other.size()) << name;
      double worst = 0;
      for (size_t i = 0; i < values.size(); ++i) {
        worst = std::max(worst, std::abs(static_cast<double>(values[i]) - other[i]) /
                                    (1e-3 + std::abs(static_cast<double>(other[i]))));
      }
      EXPECT_LT(worst, 1e-3) << name;
    }
  }
};

TEST_F(MpiCli, TwoRanksTrainAsOneProcessDoes) {
  const RunResult one = train(config_, "one", false);
  const RunResult two = train(config_, "two", true);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_EQ(two.exit_code, 0) << two.err;
  const auto j1 = nlohmann::json::parse(one.out), j2 = nlohmann::json::parse(two.out);
  EXPECT_EQ(j1["ranks"], 1);
  EXPECT_EQ(j2["ranks"], 2);  // one JSON document: rank 0's
  EXPECT_NEAR(j2["final_test_accuracy"].get<double>(), j1["final_test_accuracy"].get<double>(),
              1.5 / 64);
  expect_same_weights("one", "two");
  EXPECT_EQ(slurp(path("one/metrics.jsonl")).size() > 0, true);
  // One process's lines and the allreduce line; an epoch whose cores were shared (CTest runs
  // two tests at once) adds its busy-machine warning on either side.
  const auto lines = [](const std::string& err) {
    size_t n = 0;
    for (size_t at = 0; (at = err.find('\n', at)) != std::string::npos; ++at) ++n;
    for (size_t at = 0; (at = err.find("the machine was busy", at)) != std::string::npos; ++at) --n;
    return n;
  };
  EXPECT_EQ(lines(two.err), lines(one.err) + 1) << two.err;
}

// configs/lenet5.json itself, on 512 synthetic 28 x 28 images. A run of two ranks that ends
// with exit 0 also had bit-identical weights on both ranks: they compare hashes every epoch.
TEST_F(MpiCli, LeNet5OnTwoRanksIsLeNet5OnOne) {
  const std::string mnist = path("mnist28");
  fs::create_directories(mnist);
  write_mnist_split(mnist, "train", 512);
  write_mnist_split(mnist, "t10k", 128);
  const std::string lenet = std::string(TINYCNN_CONFIG_DIR) + "/lenet5.json";
  const auto run = [&](const std::string& out, bool two_ranks) {
    RunSetup setup;
    if (two_ranks) setup.launcher = kTwoRanks;
    return run_tinycnn({"--threads", "1", "train", lenet, "--data", mnist, "--out", path(out),
                        "--epochs", "2", "--json"},
                       setup);
  };
  const RunResult one = run("lenet_one", false), two = run("lenet_two", true);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_EQ(nlohmann::json::parse(two.out)["ranks"], 2);
  expect_same_weights("lenet_one", "lenet_two");
}

// Ranks that read different training sets (here each its own --limit-train, as when each is
// given its own --data) are refused before the first step with one error line; they never
// reach the gradient sums out of step.
TEST_F(MpiCli, RanksThatReadDifferentDataAreRefusedBeforeTheFirstStep) {
  RunSetup setup;
  setup.launcher = {"mpirun",
                    "--oversubscribe",
                    "--allow-run-as-root",
                    "-np",
                    "1",
                    TINYCNN_BIN,
                    "--threads",
                    "1",
                    "train",
                    config_,
                    "--data",
                    data_,
                    "--out",
                    path("mixed"),
                    "--limit-train",
                    "200",
                    ":",
                    "-np",
                    "1"};
  const RunResult r = run_tinycnn({"--threads", "1", "train", config_, "--data", data_, "--out",
                                   path("mixed"), "--limit-train", "256"},
                                  setup);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("the ranks read different training sets"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("200 to 256 examples"), std::string::npos) << r.err;
  size_t lines = 0;
  for (size_t at = r.err.find("error:"); at != std::string::npos;
       at = r.err.find("error:", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 1u) << r.err;
  EXPECT_FALSE(fs::exists(path("mixed/checkpoint.safetensors")));
}

TEST_F(MpiCli, BatchNormStatisticsAreTheGlobalBatchs) {
  const std::string config = dir_.write("bn.json", batch_norm_config().dump());
  const RunResult one = train(config, "one", false, {"--epochs", "2"});
  const RunResult two = train(config, "two", true, {"--epochs", "2"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_EQ(two.exit_code, 0) << two.err;
  expect_same_weights("one", "two");  // running statistics included
}

TEST_F(MpiCli, GroupNormAndLayerNormOnTwoRanksAreOneProcess) {
  const std::string config = dir_.write("gn.json", group_norm_config().dump());
  const RunResult one = train(config, "one", false, {"--epochs", "2"});
  const RunResult two = train(config, "two", true, {"--epochs", "2"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_EQ(two.exit_code, 0) << two.err;
  expect_same_weights("one", "two");
}

TEST_F(MpiCli, ResumesWithAnotherRankCount) {
  ASSERT_EQ(train(config_, "straight", false, {"--epochs", "2"}).exit_code, 0);
  // Two ranks, then one; one, then two.
  ASSERT_EQ(train(config_, "a", true, {"--epochs", "1"}).exit_code, 0);
  const RunResult a =
      train(config_, "a", false, {"--epochs", "2", "--resume", path("a/checkpoint.safetensors")});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(train(config_, "b", false, {"--epochs", "1"}).exit_code, 0);
  const RunResult b =
      train(config_, "b", true, {"--epochs", "2", "--resume", path("b/checkpoint.safetensors")});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  expect_same_weights("straight", "a");
  expect_same_weights("straight", "b");
}

TEST_F(MpiCli, ABadConfigIsOneErrorLineAndExit2) {
  nlohmann::json bad = tiny_config();
  bad["layers"][0]["out_channels"] = 0;
  const RunResult r = train(dir_.write("bad.json", bad.dump()), "bad", true);
  EXPECT_EQ(r.exit_code, 2);
  size_t lines = 0;
  for (size_t at = r.err.find("error:"); at != std::string::npos;
       at = r.err.find("error:", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 1u) << r.err;
  EXPECT_NE(r.err.find("layers[0].out_channels"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("bad/checkpoint.safetensors")));
}

TEST_F(MpiCli, AKilledRankEndsTheJobAndTheCheckpointSurvives) {
  const std::string out = path("long");
  const int pid = spawn_tinycnn(
      {"--threads", "1", "train", config_, "--data", data_, "--out", out, "--epochs", "100000"},
      path("long.out"), path("long.err"), kTwoRanks);
  const std::string checkpoint = out + "/checkpoint.safetensors";
  for (int i = 0; i < 600 && !fs::exists(checkpoint); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(fs::exists(checkpoint)) << slurp(path("long.err"));
  // One of mpirun's children, the ranks: killed outright.
  FILE* children = ::popen(("pgrep -P " + std::to_string(pid)).c_str(), "r");
  ASSERT_NE(children, nullptr);
  int rank_pid = 0;
  ASSERT_EQ(std::fscanf(children, "%d", &rank_pid), 1);
  ::pclose(children);
  ASSERT_EQ(::kill(rank_pid, SIGKILL), 0);
  EXPECT_NE(wait_exit(pid), 0);  // the job ends (no hang) and fails
  const RunResult eval =
      run_tinycnn({"eval", config_, "--data", data_, "--checkpoint", checkpoint});
  EXPECT_EQ(eval.exit_code, 0) << eval.err;  // the last checkpoint is whole
}

}  // namespace
}  // namespace tinycnn::testing
