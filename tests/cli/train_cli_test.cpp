// `tinycnn train` and `tinycnn eval` run as processes on small IDX files the tests write:
// outputs, resume == uninterrupted, --init, refusals, interruption, divergence, exit codes.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>
#include <tuple>
#include <utility>

#include "io/safetensors.hpp"
#include "run.hpp"
#include "support/idx_writer.hpp"
#include "tiny_run.hpp"

namespace tinycnn::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

class TrainCli : public TinyRun {
 protected:
  std::string out(const std::string& name) const { return (dir_.path() / name).string(); }
  void expect_resumes_bit_for_bit_and_changes_the_run(const json& augment);
  // metrics.jsonl without the timing fields, which differ run to run.
  static std::vector<json> metrics_values(const std::string& dir) {
    std::vector<json> lines;
    std::ifstream in(dir + "/metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
      json j = json::parse(line);
      for (const char* k : {"epoch_seconds", "eval_seconds", "images_per_second"}) j.erase(k);
      lines.push_back(j);
    }
    return lines;
  }
};

TEST_F(TrainCli, OneEpochWritesCheckpointMetricsAndConfig) {
  const RunResult r = run_tinycnn(train_args(out("run"), {"--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json summary = json::parse(r.out);
  for (const char* key :
       {"model", "epochs", "final_test_accuracy", "best_test_accuracy", "epoch_seconds",
        "eval_seconds", "train_images_per_second", "peak_rss_bytes", "checkpoint"}) {
    EXPECT_TRUE(summary.contains(key)) << key;
  }
  EXPECT_EQ(summary["epochs"], 1);
  EXPECT_GT(summary["peak_rss_bytes"].get<int64_t>(), 0);
  const auto lines = metrics_values(out("run"));
  ASSERT_EQ(lines.size(), 1u);
  for (const char* key :
       {"epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr"}) {
    EXPECT_TRUE(lines[0].contains(key)) << key;
  }
  const json resolved = json::parse(slurp(out("run") + "/config.json"));
  EXPECT_EQ(resolved["training"]["data_dir"], data_);
  const io::SafetensorsFile ckpt = io::read_safetensors(out("run") + "/checkpoint.safetensors");
  ASSERT_NE(ckpt.find("layers.0.weight"), nullptr);
  EXPECT_EQ(ckpt.find("layers.0.weight")->shape(), tensor::Shape({4, 1, 3, 3}));
  EXPECT_EQ(ckpt.find("layers.4.weight")->shape(), tensor::Shape({10, 64}));
  EXPECT_NE(ckpt.find("optimizer.layers.0.weight.momentum"), nullptr);
  EXPECT_EQ(ckpt.metadata.at("format"), "tinycnn-checkpoint-1");
  EXPECT_EQ(ckpt.metadata.at("epoch"), "1");
  EXPECT_EQ(ckpt.metadata.at("step"), "8");
  EXPECT_EQ(json::parse(ckpt.metadata.at("config"))["name"], "tiny");
}

TEST_F(TrainCli, ResumeEqualsUninterruptedBitForBit) {
  ASSERT_EQ(run_tinycnn(train_args(out("a"), {"--threads", "1", "--epochs", "3"})).exit_code, 0);
  ASSERT_EQ(run_tinycnn(train_args(out("b"), {"--threads", "1", "--epochs", "1"})).exit_code, 0);
  const RunResult r =
      run_tinycnn(train_args(out("b"), {"--threads", "1", "--epochs", "3", "--resume",
                                        out("b") + "/checkpoint.safetensors"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const io::SafetensorsFile a = io::read_safetensors(out("a") + "/checkpoint.safetensors");
  const io::SafetensorsFile b = io::read_safetensors(out("b") + "/checkpoint.safetensors");
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    EXPECT_EQ(a.tensors[i].name, b.tensors[i].name);
    EXPECT_EQ(a.tensors[i].tensor.to_vector(), b.tensors[i].tensor.to_vector())
        << a.tensors[i].name;
  }
  EXPECT_EQ(a.metadata.at("step"), b.metadata.at("step"));
  EXPECT_EQ(a.metadata.at("rng"), b.metadata.at("rng"));
  EXPECT_EQ(metrics_values(out("a")), metrics_values(out("b")));  // the resumed run appended
}

TEST_F(TrainCli, SameSeedAndThreadsGiveTheSameMetrics) {
  ASSERT_EQ(run_tinycnn(train_args(out("x"), {"--epochs", "2", "--threads", "2"})).exit_code, 0);
  ASSERT_EQ(run_tinycnn(train_args(out("y"), {"--epochs", "2", "--threads", "2"})).exit_code, 0);
  EXPECT_EQ(metrics_values(out("x")), metrics_values(out("y")));
  ASSERT_EQ(run_tinycnn(train_args(out("z"), {"--epochs", "2", "--seed", "8"})).exit_code, 0);
  EXPECT_NE(metrics_values(out("x")), metrics_values(out("z")));
}

// training.label_smoothing trains on the smoothed target: the train loss it reports can never
// fall below the target's own entropy (1.677 at 0.5 and 10 classes), which the plain loss of
// the same run passes; the test loss stays the plain cross-entropy; the run's config keeps it.
TEST_F(TrainCli, LabelSmoothingTrainsOnTheSmoothedTarget) {
  const std::string data = write_learnable(path("learnable"));
  json c = tiny_config();
  c["training"]["epochs"] = 4;
  const std::string plain = dir_.write("plain.json", c.dump());
  c["training"]["label_smoothing"] = 0.5;
  const std::string smoothed = dir_.write("smoothed.json", c.dump());
  for (const auto& [config, run] : {std::pair{plain, out("plain")}, {smoothed, out("smoothed")}}) {
    const RunResult r = run_tinycnn({"train", config, "--data", data, "--out", run});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const double q = 0.5 + 0.5 / 10, rest = 0.5 / 10;
  const double entropy = -q * std::log(q) - 9 * rest * std::log(rest);
  const auto with = metrics_values(out("smoothed")), without = metrics_values(out("plain"));
  ASSERT_EQ(with.size(), 4u);
  for (const auto& line : with) EXPECT_GE(line["train_loss"].get<double>(), entropy - 1e-6);
  EXPECT_LT(without.back()["train_loss"].get<double>(), entropy);
  EXPECT_LT(with.back()["test_loss"].get<double>(), entropy);  // plain cross-entropy
  const json resolved = json::parse(slurp(out("smoothed") + "/config.json"));
  EXPECT_EQ(resolved["training"]["label_smoothing"], 0.5);
}

// The per-epoch log line says how long the run has to go (no terminal: no progress bar), but
// for the last epoch.
TEST_F(TrainCli, EachEpochsLineSaysTheTimeLeft) {
  const RunResult r = run_tinycnn(train_args(out("run"), {"--epochs", "3"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::regex left(R"(epoch [12]/3: .*, lr [0-9.e-]+, \d+:\d\d left\n)");
  EXPECT_EQ(
      std::distance(std::sregex_iterator(r.err.begin(), r.err.end(), left), std::sregex_iterator()),
      2)
      << r.err;
  EXPECT_TRUE(std::regex_search(r.err, std::regex(R"(epoch 3/3: .*, lr [0-9.e-]+\n)"))) << r.err;
}

// Keep the best, stop early: best.safetensors holds the epoch the monitor rates best (an
// improvement beats the best by more than min_delta), the run ends after `patience` epochs
// without one (exit 0, a log line, "stopped_early"), the JSON names the best epoch and its
// accuracy, and eval takes best.safetensors like any checkpoint.
TEST_F(TrainCli, KeepsTheBestModelAndStopsEarly) {
  const std::string data = write_learnable(path("learnable"));
  for (const auto& [monitor, min_delta, patience] :
       {std::tuple{"test_accuracy", 0.0, 2}, {"test_loss", 0.01, 1}}) {
    json c = tiny_config();
    c["training"]["epochs"] = 30;
    c["training"]["early_stopping"] = {{"monitor", monitor}, {"min_delta", min_delta}};
    const std::string config = dir_.write(std::string(monitor) + ".json", c.dump());
    const std::string run = out(monitor);
    const RunResult r = run_tinycnn({"train", config, "--data", data, "--out", run, "--json",
                                     "--early-stopping-patience", std::to_string(patience)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json summary = json::parse(r.out);
    // The rule, applied to the metrics the run wrote.
    const auto lines = metrics_values(run);
    int best = 0;
    double best_value = 0;
    for (const auto& line : lines) {
      const double v = line[monitor].get<double>();
      const bool loss = std::string(monitor) == "test_loss";
      if (best == 0 || (loss ? v < best_value - min_delta : v > best_value + min_delta)) {
        best = line["epoch"].get<int>();
        best_value = v;
      }
    }
    EXPECT_TRUE(summary["stopped_early"].get<bool>()) << monitor;
    EXPECT_EQ(summary["epochs"].get<int>(), best + patience) << monitor;
    EXPECT_EQ(static_cast<int>(lines.size()), best + patience);
    EXPECT_EQ(summary["best_epoch"].get<int>(), best) << monitor;
    EXPECT_EQ(summary["best_test_accuracy"], lines[static_cast<size_t>(best - 1)]["test_accuracy"]);
    EXPECT_EQ(summary["best_checkpoint"], run + "/best.safetensors");
    EXPECT_NE(r.err.find("early stopping: " + std::string(monitor) + " has not improved"),
              std::string::npos)
        << r.err;
    const io::SafetensorsFile file = io::read_safetensors(run + "/best.safetensors");
    EXPECT_EQ(file.metadata.at("epoch"), std::to_string(best));
    EXPECT_EQ(file.metadata.at("best_epoch"), std::to_string(best));
    EXPECT_EQ(file.metadata.at("best_monitor"), monitor);
    const RunResult eval = run_tinycnn(
        {"eval", config, "--checkpoint", run + "/best.safetensors", "--data", data, "--json"});
    ASSERT_EQ(eval.exit_code, 0) << eval.err;
    EXPECT_EQ(json::parse(eval.out)["test_accuracy"], summary["best_test_accuracy"]);
    // Resuming the run that stopped: nothing to train, it says why.
    const RunResult again = run_tinycnn({"train", config, "--data", data, "--out", run, "--resume",
                                         run + "/checkpoint.safetensors",
                                         "--early-stopping-patience", std::to_string(patience)});
    EXPECT_EQ(again.exit_code, 0) << again.err;
    EXPECT_NE(again.err.find("has not improved for"), std::string::npos) << again.err;
  }
}

// darknet#4387: the best model survives a resume. A run resumed after epoch 3 keeps the same
// best.safetensors as the uninterrupted run, whose best epoch (2) lies before the resume.
TEST_F(TrainCli, TheBestModelSurvivesAResume) {
  const std::string data = write_learnable(path("learnable"));
  json c = tiny_config();
  c["training"]["epochs"] = 6;
  const std::string config = dir_.write("six.json", c.dump());
  auto train = [&](const std::string& run, std::vector<std::string> extra) {
    std::vector<std::string> args{"train", config, "--data", data, "--out", run, "--threads", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    const RunResult r = run_tinycnn(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r;
  };
  train(out("whole"), {});
  train(out("parts"), {"--epochs", "3"});
  const RunResult resumed =
      train(out("parts"), {"--resume", out("parts") + "/checkpoint.safetensors", "--json"});
  const io::SafetensorsFile whole = io::read_safetensors(out("whole") + "/best.safetensors");
  const io::SafetensorsFile parts = io::read_safetensors(out("parts") + "/best.safetensors");
  ASSERT_LE(std::stoi(whole.metadata.at("best_epoch")), 3);  // else the test proves nothing
  EXPECT_EQ(parts.metadata.at("best_epoch"), whole.metadata.at("best_epoch"));
  EXPECT_EQ(json::parse(resumed.out)["best_epoch"].get<int>(),
            std::stoi(whole.metadata.at("best_epoch")));
  ASSERT_EQ(whole.tensors.size(), parts.tensors.size());
  for (size_t i = 0; i < whole.tensors.size(); ++i) {
    EXPECT_EQ(whole.tensors[i].tensor.to_vector(), parts.tensors[i].tensor.to_vector())
        << whole.tensors[i].name;
  }
  // A checkpoint whose best epoch lies after its own epoch is refused by name.
  io::SafetensorsFile f = io::read_safetensors(out("parts") + "/checkpoint.safetensors");
  f.metadata["best_epoch"] = "99";
  const std::string bad = out("bad.safetensors");
  io::write_safetensors(bad, f.tensors, f.metadata, f.ints);
  const RunResult r = run_tinycnn(
      {"train", config, "--data", data, "--out", out("parts"), "--resume", bad, "--epochs", "8"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("metadata best_epoch 99: expected 1..6"), std::string::npos) << r.err;
}

// A 2-epoch run of the tiny config with `augment`: resumed after its first epoch it ends bit
// for bit where the whole run ends, and it trains on other data than the plain run.
void TrainCli::expect_resumes_bit_for_bit_and_changes_the_run(const json& augment) {
  json c = tiny_config();
  c["training"]["epochs"] = 2;
  c["training"]["augment"] = augment;
  const std::string config = dir_.write("augment.json", c.dump());
  auto train = [&](const std::string& run, std::vector<std::string> extra) {
    std::vector<std::string> args{"train", config, "--data", data_, "--out", run, "--threads", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    const RunResult r = run_tinycnn(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
  };
  train(out("whole"), {});
  train(out("parts"), {"--epochs", "1"});
  train(out("parts"), {"--resume", out("parts") + "/checkpoint.safetensors"});
  ASSERT_EQ(run_tinycnn(train_args(out("plain"), {"--epochs", "2", "--threads", "1"})).exit_code,
            0);
  const auto weights = [](const std::string& run) {
    return io::read_safetensors(run + "/checkpoint.safetensors")
        .find("layers.0.weight")
        ->to_vector();
  };
  EXPECT_EQ(weights(out("whole")), weights(out("parts")));
  EXPECT_NE(weights(out("whole")), weights(out("plain")));
}

// Cutout's squares are a function of the seed, the epoch and the example.
TEST_F(TrainCli, CutoutResumesBitForBitAndChangesTheRun) {
  expect_resumes_bit_for_bit_and_changes_the_run({{"cutout", {{"size", 4}}}});
}

// Mixup's and CutMix's partners, weights and boxes too; the loss is on the mixed targets.
TEST_F(TrainCli, MixupAndCutMixResumeBitForBitAndTrainOnMixedTargets) {
  expect_resumes_bit_for_bit_and_changes_the_run(
      {{"mixup", {{"alpha", 0.4}}}, {"cutmix", {{"alpha", 1.0}}}});
}

// lr-find: the range test from a fresh model — rates growing geometrically from --start, the
// smoothed loss, a suggestion below the minimum's rate — drawn into --out, and nothing else
// written; bad ranges refused, exit 2.
TEST_F(TrainCli, LrFindSuggestsARateAndWritesOnlyItsPicture) {
  const std::string data = write_learnable(path("learnable"));
  const std::string svg = path("lr.svg");
  const auto before = std::distance(fs::directory_iterator(dir_.path()), fs::directory_iterator());
  RunResult r =
      run_tinycnn({"lr-find", config_, "--data", data, "--steps", "60", "--out", svg, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  const auto lrs = doc["lrs"].get<std::vector<double>>();
  ASSERT_GE(lrs.size(), 10u);
  EXPECT_LE(lrs.size(), 60u);
  EXPECT_EQ(doc["steps"].get<size_t>(), lrs.size());
  EXPECT_DOUBLE_EQ(lrs[0], 1e-7);
  for (size_t i = 1; i < lrs.size(); ++i) {
    EXPECT_NEAR(lrs[i] / lrs[i - 1], std::pow(1e8, 1.0 / 59), 1e-9);
  }
  EXPECT_EQ(doc["losses"].size(), lrs.size());
  EXPECT_EQ(doc["smoothed_losses"].size(), lrs.size());
  const double suggested = doc["suggested_lr"].get<double>();
  EXPECT_GT(suggested, 1e-7);
  EXPECT_LE(suggested, doc["min_loss_lr"].get<double>());
  EXPECT_DOUBLE_EQ(doc["min_loss_lr_div10"].get<double>(), doc["min_loss_lr"].get<double>() / 10);
  // It ran to --end (1e-7 x (1e8)^(59/59) = 10) unless it stopped where the loss diverged.
  if (!doc["diverged"].get<bool>()) {
    EXPECT_EQ(lrs.size(), 60u);
    EXPECT_NEAR(lrs.back(), 10.0, 1e-9);
  }
  EXPECT_NE(slurp(svg).find("steepest fall: lr"), std::string::npos);
  // Only the picture is new: no run directory, no checkpoint.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_.path()), fs::directory_iterator()),
            before + 1);
  r = run_tinycnn({"lr-find", config_, "--data", data, "--steps", "30"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("suggested learning rate: "), std::string::npos) << r.out;
  // The overrides reach the run: another seed or batch size, other losses; a bad one is the
  // config's error.
  const auto losses = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"lr-find", config_, "--data", data, "--steps", "10", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    const RunResult run = run_tinycnn(args);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return run.exit_code == 0 ? json::parse(run.out)["losses"] : json();
  };
  const json base = losses({});
  EXPECT_EQ(losses({"--conv-algo", "im2col"}).size(), base.size());
  EXPECT_NE(losses({"--seed", "8"}), base);
  EXPECT_NE(losses({"--batch-size", "16"}), base);
  r = run_tinycnn({"lr-find", config_, "--data", data, "--batch-size", "0"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("training.batch_size"), std::string::npos) << r.err;
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--start", "1", "--end", "0.1"},
        {"--start", "0"},
        {"--steps", "1"},
        {"--start", "nan"}}) {
    std::vector<std::string> args{"lr-find", config_, "--data", data};
    args.insert(args.end(), bad.begin(), bad.end());
    r = run_tinycnn(args);
    EXPECT_EQ(r.exit_code, 2) << bad[0] << " " << bad[1] << ": " << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
  }
}

TEST_F(TrainCli, InitLoadsWeights) {
  ASSERT_EQ(run_tinycnn(train_args(out("a"), {"--epochs", "2"})).exit_code, 0);
  const std::string a_ckpt = out("a") + "/checkpoint.safetensors";
  // A tiny learning rate: the weights after one epoch stay where --init put them.
  const RunResult r = run_tinycnn(train_args(out("c"), {"--init", a_ckpt, "--lr", "1e-12"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto a = io::read_safetensors(a_ckpt),
             c = io::read_safetensors(out("c") + "/checkpoint.safetensors");
  const auto wa = a.find("layers.0.weight")->to_vector(),
             wc = c.find("layers.0.weight")->to_vector();
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_NEAR(wa[i], wc[i], 1e-6) << i;
  EXPECT_EQ(c.metadata.at("epoch"), "1");  // a fresh run: its own epoch count
  EXPECT_NE(run_tinycnn(train_args(out("d"), {"--init", a_ckpt, "--resume", a_ckpt})).exit_code, 0);
}

TEST_F(TrainCli, CheckpointOfAnotherArchitectureIsRefused) {
  ASSERT_EQ(run_tinycnn(train_args(out("a"))).exit_code, 0);
  const std::string other = dir_.write("other.json", tiny_config(5).dump());
  const std::string ckpt = out("a") + "/checkpoint.safetensors";
  RunResult r = run_tinycnn({"eval", other, "--checkpoint", ckpt, "--data", data_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("layers.0.weight has shape [4, 1, 3, 3], the config expects [5, 1, 3, 3]"),
            std::string::npos)
      << r.err;
  r = run_tinycnn({"train", other, "--data", data_, "--out", out("b"), "--resume", ckpt});
  EXPECT_EQ(r.exit_code, 1) << r.err;
}

TEST_F(TrainCli, NonFiniteWeightsAndUnwritableOutDirAreRefused) {
  ASSERT_EQ(run_tinycnn(train_args(out("a"))).exit_code, 0);
  const std::string ckpt = out("a") + "/checkpoint.safetensors";
  io::SafetensorsFile f = io::read_safetensors(ckpt);
  std::vector<io::NamedTensor> tensors = f.tensors;
  for (auto& t : tensors) {
    if (t.name == "layers.4.weight") t.tensor[7] = std::numeric_limits<float>::quiet_NaN();
  }
  const std::string poisoned = out("nan.safetensors");
  io::write_safetensors(poisoned, tensors, f.metadata);
  RunResult r = run_tinycnn({"eval", config_, "--checkpoint", poisoned, "--data", data_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("layers.4.weight holds NaN or Inf values"), std::string::npos) << r.err;
  r = run_tinycnn(train_args(out("b"), {"--init", poisoned}));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  // An out dir that cannot be created (a file is in the way): a clear error, exit 1.
  r = run_tinycnn(train_args(config_));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot create the output directory"), std::string::npos) << r.err;
}

TEST_F(TrainCli, EvalReportsConfusionAndPerClassAccuracy) {
  ASSERT_EQ(run_tinycnn(train_args(out("a"))).exit_code, 0);
  const std::string ckpt = out("a") + "/checkpoint.safetensors";
  const RunResult r =
      run_tinycnn({"eval", config_, "--checkpoint", ckpt, "--data", data_, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  ASSERT_EQ(doc["confusion"].size(), 10u);
  int64_t total = 0;
  for (const auto& row : doc["confusion"]) {
    ASSERT_EQ(row.size(), 10u);
    for (const auto& v : row) total += v.get<int64_t>();
  }
  EXPECT_EQ(total, 64);
  EXPECT_EQ(doc["per_class_accuracy"].size(), 10u);
  const RunResult table = run_tinycnn({"eval", config_, "--checkpoint", ckpt, "--data", data_});
  EXPECT_NE(table.out.find("accuracy"), std::string::npos);
  EXPECT_EQ(run_tinycnn({"eval", config_, "--checkpoint", out("nope"), "--data", data_}).exit_code,
            1);
}

TEST_F(TrainCli, MinAccuracyGivesExit3) {
  RunResult r = run_tinycnn(train_args(out("a"), {"--min-accuracy", "1.0"}));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("error: the best model's test accuracy"), std::string::npos) << r.err;
  EXPECT_EQ(run_tinycnn(train_args(out("b"), {"--min-accuracy", "0"})).exit_code, 0);
  EXPECT_EQ(run_tinycnn(train_args(out("c"), {"--min-accuracy", "1.5"})).exit_code, 2);
}

TEST_F(TrainCli, DivergenceExits1AndKeepsTheLastGoodCheckpoint) {
  ASSERT_EQ(run_tinycnn(train_args(out("a"))).exit_code, 0);
  const std::string ckpt = out("a") + "/checkpoint.safetensors";
  const std::string before = slurp(ckpt);
  const RunResult r =
      run_tinycnn(train_args(out("a"), {"--resume", ckpt, "--epochs", "3", "--lr", "1e6"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("error: training diverged at epoch 2, step"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(ckpt), before);
}

TEST_F(TrainCli, BadDataIsARuntimeError) {
  write_file(data_ + "/train-images-idx3-ubyte",
             idx_bytes(2049, {1, 8, 8}, std::vector<uint8_t>(64)));
  RunResult r = run_tinycnn(train_args(out("a")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("train-images-idx3-ubyte: expected IDX image magic 2051"), std::string::npos)
      << r.err;
  write_mnist_split(data_, "train", 16, 6, 6);
  r = run_tinycnn(train_args(out("a")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("images are 6x6, but the config's input is 8x8"), std::string::npos)
      << r.err;
  r = run_tinycnn(
      {"train", config_, "--data", (dir_.path() / "empty").string(), "--out", out("a")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no such file"), std::string::npos) << r.err;
}

TEST_F(TrainCli, SigintMidRunSavesALoadableCheckpointAndExits130) {
  const std::string run_dir = out("long");
  const std::string ckpt = run_dir + "/checkpoint.safetensors";
  const int pid = spawn_tinycnn(train_args(run_dir, {"--epochs", "100000", "--batch-size", "8"}),
                                out("long.out"), out("long.err"));
  // Wait for the first checkpoint, so the signal handler is certainly installed.
  for (int i = 0; i < 600 && !fs::exists(ckpt); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::exists(ckpt)) << slurp(out("long.err"));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  ::kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid), 130) << slurp(out("long.err"));
  const io::SafetensorsFile saved = io::read_safetensors(ckpt);
  const int64_t epoch = std::stoll(saved.metadata.at("epoch"));
  EXPECT_GE(epoch, 1);
  const RunResult r = run_tinycnn(train_args(
      run_dir, {"--batch-size", "8", "--resume", ckpt, "--epochs", std::to_string(epoch + 1)}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

int count_paths(const std::string& svg, int points_each) {
  int paths = 0;
  for (size_t pos = svg.find("<path "); pos != std::string::npos;
       pos = svg.find("<path ", pos + 1)) {
    const std::string path = svg.substr(pos, svg.find("/>", pos) - pos);
    int segments = 0;
    for (size_t l = path.find(" L"); l != std::string::npos; l = path.find(" L", l + 1)) ++segments;
    EXPECT_EQ(segments, points_each - 1) << path;
    ++paths;
  }
  return paths;
}

TEST_F(TrainCli, CurvesAfterEveryEpochAndPlotOfSeveralRuns) {
  ASSERT_EQ(run_tinycnn(train_args(out("a"), {"--epochs", "3"})).exit_code, 0);
  const std::string svg = slurp(out("a") + "/curves.svg");
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(count_paths(svg, 3), 4);  // train / test loss, train / test accuracy
  for (const char* label : {"Loss", "Accuracy", "epoch", "train", "test"}) {
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  }
  ASSERT_EQ(run_tinycnn(train_args(out("b"), {"--epochs", "2", "--seed", "9"})).exit_code, 0);
  const std::string chart = out("both.svg");
  const RunResult r = run_tinycnn(
      {"plot", out("a") + "/metrics.jsonl", out("b") + "/metrics.jsonl", "--out", chart});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string both = slurp(chart);
  EXPECT_NE(both.find("a: train"), std::string::npos);
  EXPECT_NE(both.find("b: test"), std::string::npos);
  int paths = 0;
  for (size_t pos = both.find("<path "); pos != std::string::npos;
       pos = both.find("<path ", pos + 1))
    ++paths;
  EXPECT_EQ(paths, 8);
}

TEST_F(TrainCli, PlotRefusesBadMetrics) {
  const std::string bad =
      dir_.write("metrics.jsonl",
                 "{\"epoch\": 1, \"train_loss\": 0.5, "
                 "\"test_loss\": 0.4, \"train_accuracy\": 0.8, \"test_accuracy\": 0.9}\n{oops\n");
  RunResult r = run_tinycnn({"plot", bad, "--out", out("x.svg")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("metrics.jsonl:2: not valid JSON"), std::string::npos) << r.err;
  const std::string missing_key = dir_.write("m2.jsonl", "{\"epoch\": 1}\n");
  r = run_tinycnn({"plot", missing_key, "--out", out("x.svg")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("m2.jsonl:1: expected a number for train_loss"), std::string::npos) << r.err;
  EXPECT_EQ(run_tinycnn({"plot", out("none.jsonl"), "--out", out("x.svg")}).exit_code, 1);
  EXPECT_EQ(run_tinycnn({"plot", bad}).exit_code, 2);  // --out is required
}

TEST_F(TrainCli, SigkillAtRandomMomentsNeverBreaksTheCheckpointOrMetrics) {
  // 20 times: kill -9 at a random moment (loading, training, writing a checkpoint), then check
  // that the checkpoint on disk is a complete one, that metrics.jsonl holds whole lines for
  // epochs 1, 2, ..., and resume from it.
  const std::string run_dir = out("kill");
  const std::string ckpt = run_dir + "/checkpoint.safetensors";
  const std::vector<std::string> args{"--epochs", "100000", "--batch-size", "8"};
  int pid = spawn_tinycnn(train_args(run_dir, args), out("kill.out"), out("kill.err"));
  for (int i = 0; i < 600 && !fs::exists(ckpt); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(fs::exists(ckpt)) << slurp(out("kill.err"));
  uint64_t seed = 12345;
  for (int round = 0; round < 20; ++round) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(static_cast<int>(seed >> 58)));  // 0-63 ms
    ::kill(pid, SIGKILL);
    ASSERT_EQ(wait_exit(pid), 128 + SIGKILL);
    const io::SafetensorsFile saved = io::read_safetensors(ckpt);  // throws if torn
    const int64_t epoch = std::stoll(saved.metadata.at("epoch"));
    ASSERT_GE(epoch, 1) << "round " << round;
    std::ifstream metrics(run_dir + "/metrics.jsonl");
    int64_t expected = 1;
    for (std::string line; std::getline(metrics, line); ++expected) {
      const json j = json::parse(line);  // whole lines only
      ASSERT_EQ(j["epoch"], expected) << "round " << round;
    }
    std::vector<std::string> resume = args;
    resume.insert(resume.end(), {"--resume", ckpt});
    pid = spawn_tinycnn(train_args(run_dir, resume), out("kill.out"), out("kill.err"));
  }
  ::kill(pid, SIGKILL);
  wait_exit(pid);
  const int64_t epoch = std::stoll(io::read_safetensors(ckpt).metadata.at("epoch"));
  const RunResult r = run_tinycnn(train_args(
      run_dir, {"--batch-size", "8", "--resume", ckpt, "--epochs", std::to_string(epoch + 1)}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(metrics_values(run_dir).size(), static_cast<size_t>(epoch + 1));
  for (const auto& entry : fs::directory_iterator(run_dir)) {
    EXPECT_EQ(entry.path().filename().string().find(".tinycnn-tmp-"), std::string::npos)
        << entry.path();
  }
}

TEST_F(TrainCli, UsageErrors) {
  EXPECT_EQ(run_tinycnn({"train"}).exit_code, 2);
  EXPECT_EQ(run_tinycnn(train_args(out("a"), {"--conv-algo", "fft"})).exit_code, 2);
  RunResult r = run_tinycnn(train_args(out("a"), {"--epochs", "0"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("training.epochs"), std::string::npos) << r.err;
  EXPECT_EQ(run_tinycnn({"train", "--help"}).exit_code, 0);
  EXPECT_EQ(run_tinycnn({"eval", config_}).exit_code, 2);  // --checkpoint is required
}

}  // namespace
}  // namespace tinycnn::testing

namespace tinycnn::testing {
namespace {
class DiagnosticsCli : public TinyRun {};

// A checkpoint's tensor bytes, after the header (whose metadata holds the config).
std::string tensor_bytes(const std::string& path) {
  const std::string raw = slurp(path);
  uint64_t n = 0;
  std::memcpy(&n, raw.data(), 8);
  return raw.substr(8 + n);
}

// --diagnostics adds gradient flow to every metrics line, changes nothing else (the same
// weights as without), and plot --diagnostics draws it; a run without refuses to be drawn so.
TEST_F(DiagnosticsCli, MetricsLinesGainGradientFlowAndTheRunIsUnchanged) {
  const std::string with = path("with"), without = path("without");
  ASSERT_EQ(run_tinycnn(train_args(with, {"--epochs", "2", "--diagnostics"})).exit_code, 0);
  ASSERT_EQ(run_tinycnn(train_args(without, {"--epochs", "2"})).exit_code, 0);
  EXPECT_TRUE(tensor_bytes(with + "/checkpoint.safetensors") ==
              tensor_bytes(without + "/checkpoint.safetensors"));
  std::ifstream in(with + "/metrics.jsonl");
  int lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    const nlohmann::json j = nlohmann::json::parse(line);
    ASSERT_TRUE(j.contains("diagnostics")) << line;
    const auto& d = j["diagnostics"];
    ASSERT_EQ(d.size(), 3u);  // conv2d and linear, then the ReLU
    EXPECT_EQ(d[0]["layer"], "layers.0");
    EXPECT_EQ(d[0]["type"], "conv2d");
    EXPECT_GT(d[0]["grad_norm"].get<double>(), 0);
    EXPECT_GT(d[0]["update_ratio"].get<double>(), 0);
    EXPECT_EQ(d[1]["layer"], "layers.4");
    EXPECT_EQ(d[2]["layer"], "layers.1");
    EXPECT_GE(d[2]["dead_fraction"].get<double>(), 0);
    EXPECT_LE(d[2]["dead_fraction"].get<double>(), 1);
  }
  EXPECT_EQ(lines, 2);
  EXPECT_EQ(slurp(without + "/metrics.jsonl").find("diagnostics"), std::string::npos);

  const RunResult plot =
      run_tinycnn({"plot", with + "/metrics.jsonl", "--diagnostics", "--out", path("flow.svg")});
  ASSERT_EQ(plot.exit_code, 0) << plot.err;
  const std::string svg = slurp(path("flow.svg"));
  EXPECT_NE(svg.find("Gradient norm"), std::string::npos);
  EXPECT_NE(svg.find("layers.4 (linear)"), std::string::npos);
  const RunResult none =
      run_tinycnn({"plot", without + "/metrics.jsonl", "--diagnostics", "--out", path("none.svg")});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no diagnostics (train with --diagnostics"), std::string::npos)
      << none.err;
  EXPECT_FALSE(std::filesystem::exists(path("none.svg")));
}
}  // namespace
}  // namespace tinycnn::testing

namespace tinycnn::testing {
namespace {
class BatchNormCli : public TinyRun {
 protected:
  // The tiny model with batch norm after the conv and a batchnorm1d before the classifier.
  std::string bn_config(bool drop_last) const {
    nlohmann::json c = tiny_config();
    c["layers"] = nlohmann::json::parse(R"([
      {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
      {"type": "batchnorm2d"}, {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
      {"type": "flatten"}, {"type": "linear", "out_features": 16},
      {"type": "batchnorm1d"}, {"type": "relu"}, {"type": "linear", "out_features": 10}])");
    c["training"]["drop_last"] = drop_last;
    return dir_.write(drop_last ? "bn_drop.json" : "bn.json", c.dump());
  }
};

// 256 examples in batches of 51 leave a last batch of one: batchnorm1d would see one value per
// channel. Refused before training (exit 2, naming the layer), unless drop_last drops it.
TEST_F(BatchNormCli, ALastBatchOfOneIsRefusedUpFrontOrDropped) {
  const RunResult refused = run_tinycnn(
      {"train", bn_config(false), "--data", data_, "--out", path("a"), "--batch-size", "51"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("layers.6 (batchnorm1d): the last batch of each epoch holds one "
                             "example (256 training examples, batch_size 51)"),
            std::string::npos)
      << refused.err;
  EXPECT_FALSE(std::filesystem::exists(path("a/metrics.jsonl")));
  const RunResult dropped = run_tinycnn({"train", bn_config(true), "--data", data_, "--out",
                                         path("b"), "--batch-size", "51", "--json"});
  ASSERT_EQ(dropped.exit_code, 0) << dropped.err;
  // 5 full batches of 51 per epoch: the checkpoint's step says so.
  EXPECT_NE(slurp(path("b/checkpoint.safetensors")).find(R"("step":"5")"), std::string::npos);
  // And the model loads and evaluates (running statistics in eval mode).
  const RunResult eval = run_tinycnn({"eval", bn_config(true), "--data", data_, "--checkpoint",
                                      path("b/checkpoint.safetensors"), "--json"});
  EXPECT_EQ(eval.exit_code, 0) << eval.err;
}
}  // namespace
}  // namespace tinycnn::testing

namespace tinycnn::testing {
namespace {
class GroupNormCli : public TinyRun {
 protected:
  std::string gn_config(const nlohmann::json& norm) const {
    nlohmann::json c = tiny_config();
    c["layers"] = nlohmann::json::parse(R"([
      {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
      {"type": "groupnorm", "num_groups": 2}, {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
      {"type": "flatten"}, {"type": "linear", "out_features": 16},
      {"type": "layernorm"}, {"type": "relu"}, {"type": "linear", "out_features": 10}])");
    c["layers"][1] = norm;
    return dir_.write("gn.json", c.dump());
  }
};

// Batch norm's refusal does not apply: a last batch of one example trains. Eval, predict and
// export take the result like any checkpoint.
TEST_F(GroupNormCli, TrainsOnABatchOfOneAndItsCheckpointServesEveryCommand) {
  const std::string config = gn_config({{"type", "groupnorm"}, {"num_groups", 2}});
  const RunResult r = run_tinycnn(
      {"train", config, "--data", data_, "--out", path("a"), "--batch-size", "51", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(slurp(path("a/checkpoint.safetensors")).find(R"("step":"6")"), std::string::npos);
  const std::string best = path("a/best.safetensors");
  EXPECT_EQ(run_tinycnn({"eval", config, "--data", data_, "--checkpoint", best}).exit_code, 0);
  EXPECT_EQ(
      run_tinycnn({"export", config, "--checkpoint", best, "--onnx", path("a.onnx")}).exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(path("a.onnx")));
}

TEST_F(GroupNormCli, NumGroupsThatDoNotDivideTheChannelsIsOneErrorLine) {
  const RunResult r = run_tinycnn({"train", gn_config({{"type", "groupnorm"}, {"num_groups", 3}}),
                                   "--data", data_, "--out", path("b")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("error: layers[1].num_groups: expected a divisor of 4 channels, "
                       "got 3"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_FALSE(std::filesystem::exists(path("b")));
}
}  // namespace
}  // namespace tinycnn::testing
