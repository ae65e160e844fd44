// Hostile and unlucky inputs, run as processes: odd metrics, models too large to build, full
// disks, other processes' files and locks, resumes that cannot continue, flag values, output
// that cannot be written. Each case states the property it protects: no crash, no hang, no
// lost data, no false success.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "io/safetensors.hpp"
#include "run.hpp"
#include "support/idx_writer.hpp"
#include "tiny_run.hpp"

namespace tinycnn::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string metrics_line(int epoch, double train_accuracy) {
  return json{{"epoch", epoch},
              {"train_loss", 0.5},
              {"train_accuracy", train_accuracy},
              {"test_loss", 0.4},
              {"test_accuracy", 0.9}}
             .dump() +
         "\n";
}

class Hardening : public TinyRun {
 protected:
  std::vector<std::string> train(const std::string& out, std::vector<std::string> extra = {}) {
    return train_args(out, std::move(extra));
  }
  // A trained run of `epochs` epochs in `out`; returns its checkpoint.
  std::string trained(const std::string& out, int epochs = 1) {
    const RunResult r = run_tinycnn(train(out, {"--epochs", std::to_string(epochs)}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return out + "/checkpoint.safetensors";
  }
  // A copy of `checkpoint` with metadata `key` set to `value`.
  std::string with_metadata(const std::string& checkpoint, const std::string& key,
                            const std::string& value) {
    io::SafetensorsFile f = io::read_safetensors(checkpoint);
    f.metadata[key] = value;
    const std::string out = path(key + "-" + value + ".safetensors");
    io::write_safetensors(out, f.tensors, f.metadata);
    return out;
  }
};

// 1, 2: plot on huge, non-finite or nearly equal huge values crashed or never finished.
TEST_F(Hardening, PlotRefusesAbsurdMetricsWithOneLine) {
  const std::string huge = dir_.write("huge.jsonl", metrics_line(1, 1e308));
  RunResult r = run_tinycnn({"plot", huge, "--out", path("a.svg")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("huge.jsonl:1: train_accuracy: expected a number in [0, 1]"),
            std::string::npos)
      << r.err;
  const std::string close =
      dir_.write("close.jsonl", metrics_line(1, 1e15) + metrics_line(2, 1e15 + 0.16));
  r = run_tinycnn({"plot", close, "--out", path("b.svg")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_FALSE(fs::exists(path("a.svg")));
}

TEST_F(Hardening, ResumeRedrawsCurvesPastADamagedMetricsLine) {
  const std::string out = path("run");
  const std::string ckpt = trained(out, 1);
  std::ofstream(out + "/metrics.jsonl", std::ios::app) << metrics_line(2, 1e308);
  const RunResult r = run_tinycnn(train(out, {"--resume", ckpt, "--epochs", "2"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string metrics = slurp(out + "/metrics.jsonl");
  EXPECT_EQ(count_lines(metrics), 2) << metrics;
  EXPECT_EQ(metrics.find("1e+308"), std::string::npos) << metrics;
  EXPECT_NE(slurp(out + "/curves.svg").find("</svg>"), std::string::npos);
}

// A model too large for the machine: shapes costs it without building a weight, and train
// refuses it up front with the memory it would need.
TEST_F(Hardening, ShapesIsAnalyticAndTrainRefusesAModelThatCannotFit) {
  json config = tiny_config();
  config["input"] = {{"channels", 1}, {"height", 128}, {"width", 128}};
  config["layers"] = json::array({{{"type", "flatten"}}});
  for (int i = 0; i < 32; ++i)
    config["layers"].push_back({{"type", "linear"}, {"out_features", 16384}});
  config["layers"].push_back({{"type", "linear"}, {"out_features", 10}});
  const std::string huge = dir_.write("huge.json", config.dump());
  RunResult r = run_tinycnn({"shapes", huge, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["total"]["params"], 8590622730);
  r = run_tinycnn({"train", huge, "--data", data_, "--out", path("huge")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("training tiny needs about"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("huge")));  // refused before anything was created
}

TEST_F(Hardening, VizRefusesAPictureTooLargeBeforeDrawingIt) {
  json config = tiny_config();
  config["layers"] = json::parse(R"([
    {"type": "conv2d", "out_channels": 800, "kernel_size": 1},
    {"type": "conv2d", "out_channels": 20000, "kernel_size": 1},
    {"type": "flatten"}, {"type": "linear", "out_features": 10}])");
  const std::string big = dir_.write("big.json", config.dump());
  const RunResult r = run_tinycnn({"viz", big, "--checkpoint", path("none.safetensors"), "--data",
                                   data_, "--out", path("viz")});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("layers.1.weight filters"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("expected at most 16384x16384"), std::string::npos) << r.err;
}

// A full disk fails viz (no truncated PNGs reported as written), and profile --plot checks its
// path before any work.
TEST_F(Hardening, VizOnAFullDiskFailsAndLeavesNoPartialFile) {
  const std::string ckpt = trained(path("run"));
  const RunResult r =
      run_tinycnn({"viz", config_, "--checkpoint", ckpt, "--data", data_, "--out", path("viz")},
                  {.file_size_blocks = 1, .stdout_path = {}, .launcher = {}, .memory_kib = 0});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(".png"), std::string::npos) << r.err;
  for (const auto& e : fs::directory_iterator(path("viz"))) {
    EXPECT_EQ(e.path().extension(), ".png") << e.path();  // no temporary left
    EXPECT_LE(fs::file_size(e.path()), 512u);             // whole files only
  }
}

TEST_F(Hardening, ProfilePlotPathIsCheckedBeforeTheSweep) {
  const RunResult r =
      run_tinycnn({"profile", "--conv", "--sweep", "size", "--plot", path("no/such/dir/x.svg")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;  // no table: nothing was measured
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
}

// Files of the user's that look like a temporary of ours are left alone.
TEST_F(Hardening, OnlyTinycnnsOwnStaleTemporariesAreRemoved) {
  const std::string out = path("run");
  fs::create_directories(out);
  const std::string thesis = dir_.write("run/thesis.tmp-2024", "mine");
  const std::string paper = dir_.write("run/paper.tex.tmp-1", "mine too");
  const std::string stale = dir_.write("run/.checkpoint.safetensors.tinycnn-tmp-999999999", "x");
  const std::string live = dir_.write(
      "run/.metrics.jsonl.tinycnn-tmp-" + std::to_string(::getpid()), "a live process's");
  const RunResult r = run_tinycnn(train(out, {"--epochs", "1"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(thesis));
  EXPECT_TRUE(fs::exists(paper));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_FALSE(fs::exists(stale));
}

// One out dir holds one run at a time: a second run is refused while the first holds it.
TEST_F(Hardening, ASecondRunOnTheSameOutDirIsRefused) {
  const std::string out = path("run");
  const int pid =
      spawn_tinycnn(train(out, {"--epochs", "100000"}), path("first.out"), path("first.err"));
  for (int i = 0; i < 600 && !fs::exists(out + "/checkpoint.safetensors"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const RunResult r = run_tinycnn(train(out, {"--force"}));
  ::kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid), 130) << slurp(path("first.err"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("in use by another tinycnn run (pid " + std::to_string(pid) + ")"),
            std::string::npos)
      << r.err;
}

// metrics.jsonl never runs ahead of the checkpoint, and a fresh run does not replace an old
// run's files without being asked.
TEST_F(Hardening, AFailedCheckpointTakesItsMetricsLineBack) {
  const std::string out = path("run");
  // 2 blocks: config.json and a metrics line fit, the checkpoint does not.
  const RunResult r =
      run_tinycnn(train(out, {"--epochs", "1"}),
                  {.file_size_blocks = 2, .stdout_path = {}, .launcher = {}, .memory_kib = 0});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  // The first file of the epoch's save (best.safetensors: the first epoch is the best so far).
  EXPECT_NE(r.err.find("best.safetensors"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out + "/checkpoint.safetensors"));
  EXPECT_FALSE(fs::exists(out + "/best.safetensors"));
  EXPECT_EQ(slurp(out + "/metrics.jsonl"), "");
  for (const auto& e : fs::directory_iterator(out)) {  // no temporary left behind
    EXPECT_EQ(e.path().filename().string().find("tinycnn-tmp"), std::string::npos) << e.path();
  }
}

TEST_F(Hardening, AFreshRunKeepsAnotherRunUnlessForced) {
  const std::string out = path("run");
  trained(out);
  const std::string before = slurp(out + "/metrics.jsonl");
  RunResult r = run_tinycnn(train(out, {"--seed", "8"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("holds another run"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(out + "/metrics.jsonl"), before);
  r = run_tinycnn(train(out, {"--seed", "8", "--force"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(slurp(out + "/metrics.jsonl"), before);
}

// A model named ".." writes nowhere but its out dir.
TEST_F(Hardening, ModelNamesArePlainFileNames) {
  const std::vector<std::string> names{"..", ".", "a/b", "a\x01", std::string("a\0b", 3)};
  for (const std::string& name : names) {
    json config = tiny_config();
    config["name"] = name;
    const RunResult r = run_tinycnn({"shapes", dir_.write("named.json", config.dump())});
    EXPECT_EQ(r.exit_code, 2) << json(name).dump();
    EXPECT_NE(r.err.find("name: expected a plain file name"), std::string::npos) << r.err;
  }
}

// 9, 10, 11: resumes that recorded epochs on zero images or a final accuracy of 0.
TEST_F(Hardening, AResumeThatCannotContinueTheRunIsRefused) {
  const std::string ckpt = trained(path("run"), 1);
  RunResult r = run_tinycnn(train(path("b"), {"--resume", ckpt, "--batch-size", "16"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("saved by a run with batch_size 32"), std::string::npos) << r.err;
  r = run_tinycnn(train(path("c"), {"--resume", ckpt, "--limit-train", "100"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("saved by a run on 256 training examples"), std::string::npos) << r.err;
  r = run_tinycnn(train(path("d"), {"--resume", with_metadata(ckpt, "step", "999999999999")}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("metadata step 999999999999 does not lie in epoch 2"), std::string::npos)
      << r.err;
  r = run_tinycnn(train(path("e"), {"--resume", with_metadata(ckpt, "epoch", "1000000000")}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("metadata epoch 1000000000: expected at most"), std::string::npos) << r.err;
  for (const char* d : {"b", "c", "d", "e"}) EXPECT_FALSE(fs::exists(path(d) + "/metrics.jsonl"));
}

TEST_F(Hardening, AResumeOfAFinishedRunEvaluatesIt) {
  const std::string ckpt = trained(path("run"), 2);
  const std::string metrics = slurp(path("run") + "/metrics.jsonl");
  const RunResult r = run_tinycnn(
      train(path("run"), {"--resume", ckpt, "--epochs", "2", "--json", "--min-accuracy", "0"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("nothing to do"), std::string::npos) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["epochs"], 2);
  EXPECT_GT(j["final_test_accuracy"].get<double>(), 0.0);
  EXPECT_EQ(slurp(path("run") + "/metrics.jsonl"), metrics);  // nothing appended
}

// A flag value the config would refuse is refused as a flag too, not clamped or ignored.
TEST_F(Hardening, FlagsGetTheConfigsValidation) {
  const std::vector<std::vector<std::string>> bad{{"--min-accuracy", "nan"},
                                                  {"--seed", "18446744073709551615"},
                                                  {"--seed", "9223372036854775808"},
                                                  {"--batch-size", ""},
                                                  {"--epochs", ""},
                                                  {"--lr", ""},
                                                  {"--epochs", "1e3"},
                                                  {"--limit-train", "-1"}};
  for (const auto& flag : bad) {
    const RunResult r = run_tinycnn(train(path("x"), flag));
    EXPECT_EQ(r.exit_code, 2) << flag[0] << " '" << flag[1] << "': " << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
  }
  EXPECT_FALSE(fs::exists(path("x")));
}

// Output that cannot be written is an error, never lost silently.
TEST_F(Hardening, AFailedWriteToStdoutIsExit1) {
  RunResult r = run_tinycnn(
      {"shapes", config_},
      {.file_size_blocks = 0, .stdout_path = "/dev/full", .launcher = {}, .memory_kib = 0});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot write to standard output"), std::string::npos) << r.err;
  r = run_tinycnn(
      train(path("run"), {"--epochs", "1", "--json"}),
      {.file_size_blocks = 0, .stdout_path = "/dev/full", .launcher = {}, .memory_kib = 0});
  EXPECT_EQ(r.exit_code, 1) << r.err;
}

// eval refuses weights whose logits overflow instead of printing a null loss as a success.
TEST_F(Hardening, EvalRefusesANonFiniteLoss) {
  const std::string ckpt = trained(path("run"));
  const std::string huge = with_overflowing_logits(ckpt, path("huge.safetensors"));
  const RunResult r =
      run_tinycnn({"eval", config_, "--checkpoint", huge, "--data", data_, "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("expected a finite loss"), std::string::npos) << r.err;
}

// A usage error is one `error:` line.
TEST_F(Hardening, AUsageErrorIsOneLineNamingTheHelp) {
  RunResult r = run_tinycnn({"train", config_, "--epochs", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("(see tinycnn train --help)"), std::string::npos) << r.err;
  r = run_tinycnn({"--no-such-flag"});
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("(see tinycnn --help)"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tinycnn::testing
