// The training loop in-process (train::run_training on synthetic MNIST-format data): resuming
// gives the uninterrupted run's weights, an interruption saves a checkpoint that resumes to the
// same bits, a diverging run stops with the last good checkpoint kept, and an epoch whose
// checkpoint cannot be written takes its metrics line back. The CLI tests run the same through
// the binary; these reach the loop without a process.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.hpp"
#include "io/safetensors.hpp"
#include "model/builder.hpp"
#include "model/spec.hpp"
#include "run/checkpoint.hpp"
#include "run/metrics_log.hpp"
#include "support/idx_writer.hpp"
#include "train/time_left.hpp"
#include "train/trainer.hpp"

namespace tinycnn::train {
namespace {

namespace fs = std::filesystem;

class LoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tinycnn_loop_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "data");
    testing::write_mnist_split((dir_ / "data").string(), "train", 96, 8, 8);
    testing::write_mnist_split((dir_ / "data").string(), "t10k", 32, 8, 8);
  }
  void TearDown() override { fs::remove_all(dir_); }

  model::ModelSpec spec(int64_t epochs, double lr = 0.05) const {
    nlohmann::json j = nlohmann::json::parse(R"({
      "name": "tiny", "input": {"channels": 1, "height": 8, "width": 8},
      "layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
                 {"type": "batchnorm2d"}, {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
                 {"type": "flatten"}, {"type": "linear", "out_features": 10}],
      "training": {"batch_size": 16, "seed": 7, "optimizer": {"type": "sgd", "momentum": 0.9}}})");
    j["training"]["epochs"] = epochs;
    j["training"]["optimizer"]["lr"] = lr;
    j["training"]["data_dir"] = (dir_ / "data").string();
    return model::parse_config(j);
  }
  RunOptions options(const std::string& out) const {
    RunOptions o;
    o.out_dir = (dir_ / out).string();
    o.config_json = "{}";
    return o;
  }
  // Every tensor of a checkpoint, by name.
  static std::vector<std::pair<std::string, std::vector<float>>> tensors(const std::string& path) {
    std::vector<std::pair<std::string, std::vector<float>>> out;
    for (const auto& t : io::read_safetensors(path).tensors) {
      const float* v = t.tensor.data();
      out.emplace_back(t.name, std::vector<float>(v, v + t.tensor.numel()));
    }
    EXPECT_FALSE(out.empty()) << path;
    return out;
  }
  static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  fs::path dir_;
};

// The step callback's estimates: this epoch's training left at the rate measured so far, and
// the whole pass at that rate (96 examples, 6 batches of 16), consistent with each other.
TEST_F(LoopTest, StepProgressEstimatesTheEpochFromItsRate) {
  std::vector<StepProgress> steps;
  TrainCallbacks callbacks;
  callbacks.on_step = [&](const StepProgress& p) { steps.push_back(p); };
  run_training(spec(1), options("run"), callbacks);
  ASSERT_EQ(steps.size(), 6u);
  for (const auto& p : steps) {
    ASSERT_GT(p.images_per_second, 0.0);
    EXPECT_NEAR(p.epoch_seconds_estimate, 96 / p.images_per_second, 1e-9);
    EXPECT_NEAR(p.epoch_seconds_left, static_cast<double>(96 - 16 * p.batch) / p.images_per_second,
                1e-9);
  }
  EXPECT_EQ(steps.back().epoch_seconds_left, 0.0);
}

// The run's time to go: before any epoch has finished, the rest of this one and the later
// epochs at this epoch's estimate; then each later epoch as the last one took, test pass
// included.
TEST(TimeLeft, FromTheRateNowThenFromTheLastEpoch) {
  TimeLeft left;
  EXPECT_DOUBLE_EQ(left.run_during(1, 3, 4.0, 10.0), 4.0 + 2 * 10.0);
  left.epoch_done(12.0, 1.5);
  EXPECT_DOUBLE_EQ(left.run_after(1, 3), 2 * 13.5);
  EXPECT_DOUBLE_EQ(left.run_during(2, 3, 5.0, 99.0), 5.0 + 1.5 + 13.5);
  EXPECT_DOUBLE_EQ(left.run_after(3, 3), 0.0);
  EXPECT_EQ(clock_text(65.4), "1:05");
  EXPECT_EQ(clock_text(3 * 3600 + 4 * 60 + 5), "3:04:05");
  EXPECT_EQ(clock_text(-1), "0:00");
  EXPECT_EQ(clock_text(std::nan("")), "0:00");
}

TEST_F(LoopTest, ResumingGivesTheUninterruptedRunsWeights) {
  const TrainResult whole = run_training(spec(2), options("whole"), {});
  EXPECT_EQ(whole.completed_epochs, 2);
  (void)run_training(spec(1), options("parts"), {});
  RunOptions resume = options("parts");
  resume.resume = (dir_ / "parts" / "checkpoint.safetensors").string();
  const TrainResult rest = run_training(spec(2), resume, {});
  EXPECT_EQ(rest.completed_epochs, 2);
  EXPECT_EQ(rest.epochs.size(), 1u);
  EXPECT_EQ(tensors(whole.checkpoint), tensors(rest.checkpoint));
  EXPECT_EQ(run::read_metrics((dir_ / "parts" / "metrics.jsonl").string()).size(), 2u);
}

TEST_F(LoopTest, AnInterruptionSavesAStateThatResumesToTheSameBits) {
  const TrainResult whole = run_training(spec(2), options("whole"), {});
  std::atomic<bool> stop{false};
  TrainCallbacks callbacks;
  callbacks.stop = &stop;
  callbacks.on_step = [&](const StepProgress& p) {
    if (p.epoch == 2 && p.batch == 3) stop = true;  // mid-epoch 2
  };
  const TrainResult cut = run_training(spec(2), options("cut"), callbacks);
  EXPECT_TRUE(cut.interrupted);
  EXPECT_EQ(cut.completed_epochs, 1);
  RunOptions resume = options("cut");
  resume.resume = cut.checkpoint;
  const TrainResult rest = run_training(spec(2), resume, {});
  EXPECT_FALSE(rest.interrupted);
  EXPECT_EQ(tensors(whole.checkpoint), tensors(rest.checkpoint));
}

TEST_F(LoopTest, ADivergingRunStopsAndKeepsTheLastGoodCheckpoint) {
  const TrainResult first = run_training(spec(1), options("run"), {});
  const std::string before = slurp(first.checkpoint);
  RunOptions resume = options("run");
  resume.resume = first.checkpoint;
  try {
    (void)run_training(spec(3, 1e6), resume, {});
    FAIL() << "expected the run to diverge";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("training diverged at epoch 2"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(slurp(first.checkpoint), before);
  EXPECT_EQ(run::read_metrics((dir_ / "run" / "metrics.jsonl").string()).size(), 1u);
}

TEST_F(LoopTest, AnEpochWhoseCheckpointFailsTakesItsMetricsLineBack) {
  // A directory where the checkpoint goes: the atomic rename onto it fails.
  fs::create_directories(dir_ / "blocked" / "checkpoint.safetensors" / "in_the_way");
  RunOptions o = options("blocked");
  o.replace = true;
  EXPECT_THROW((void)run_training(spec(1), o, {}), core::Error);
  EXPECT_EQ(slurp((dir_ / "blocked" / "metrics.jsonl").string()), "");
}

}  // namespace
}  // namespace tinycnn::train
