// Other data sets run as processes: a 3-channel model on CIFAR-format files, gzip IDX files,
// per-channel normalisation lists, and augmentation that keeps a resume bit-exact.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/safetensors.hpp"
#include "run.hpp"
#include "support/idx_writer.hpp"

namespace tinycnn::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

json cifar_config() {
  return json::parse(R"({
    "name": "cifar_tiny",
    "input": {"channels": 3, "height": 32, "width": 32},
    "layers": [
      {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
      {"type": "relu"},
      {"type": "maxpool2d", "kernel_size": 4},
      {"type": "flatten"},
      {"type": "linear", "out_features": 10}
    ],
    "training": {"dataset": "cifar10", "epochs": 2, "batch_size": 16, "seed": 3,
                 "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9},
                 "augment": {"random_crop": {"padding": 4}, "horizontal_flip": true}}
  })");
}

class DataCli : public ::testing::Test {
 protected:
  void SetUp() override {
    cifar_ = (dir_.path() / "cifar").string();
    write_cifar10(cifar_, 16, 16);
  }
  std::string path(const std::string& name) const { return (dir_.path() / name).string(); }
  std::vector<float> weights(const std::string& run) const {
    std::vector<float> all;
    for (const auto& t : io::read_safetensors(run + "/checkpoint.safetensors").tensors) {
      if (t.name.rfind("layers.", 0) != 0) continue;
      const auto v = t.tensor.to_vector();
      all.insert(all.end(), v.begin(), v.end());
    }
    return all;
  }
  TempDir dir_;
  std::string cifar_;
};

TEST_F(DataCli, AThreeChannelModelTrainsOnCifarFiles) {
  const std::string config = dir_.write("c.json", cifar_config().dump());
  const RunResult r =
      run_tinycnn({"train", config, "--data", cifar_, "--out", path("run"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["epochs"], 2);
  const RunResult e = run_tinycnn(
      {"eval", config, "--data", cifar_, "--checkpoint", path("run/checkpoint.safetensors")});
  EXPECT_EQ(e.exit_code, 0) << e.err;
}

TEST_F(DataCli, AugmentedResumeIsBitExactAndTheThreadCountOnlyReordersSums) {
  const std::string config = dir_.write("c.json", cifar_config().dump());
  const auto train = [&](const std::string& out, std::vector<std::string> extra) {
    std::vector<std::string> args{"train", config, "--data", cifar_, "--out", path(out)};
    args.insert(args.end(), extra.begin(), extra.end());
    const RunResult r = run_tinycnn(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
  };
  train("whole", {"--threads", "1"});
  train("half", {"--threads", "1", "--epochs", "1"});
  train("half", {"--threads", "1", "--resume", path("half/checkpoint.safetensors")});
  EXPECT_EQ(weights(path("whole")), weights(path("half")));
  // Two threads draw the same augmentations (per example, not per thread): the weights agree
  // up to float summation order.
  train("two", {"--threads", "2"});
  const auto a = weights(path("whole")), b = weights(path("two"));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-3) << i;
  // Without augmentation the run is another one.
  json plain = cifar_config();
  plain["training"].erase("augment");
  const std::string plain_config = dir_.write("p.json", plain.dump());
  ASSERT_EQ(run_tinycnn(
                {"train", plain_config, "--data", cifar_, "--out", path("plain"), "--threads", "1"})
                .exit_code,
            0);
  EXPECT_NE(weights(path("whole")), weights(path("plain")));
}

TEST_F(DataCli, BadDataAndSettingsGetOneLine) {
  json config = cifar_config();
  config["input"]["channels"] = 1;
  config["training"]["normalize"] = {{"mean", 0.5}, {"std", 0.5}};
  RunResult r = run_tinycnn(
      {"train", dir_.write("one.json", config.dump()), "--data", cifar_, "--out", path("x")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("images have 3 channel(s), but the config's input has 1"), std::string::npos)
      << r.err;
  config = cifar_config();
  config["training"]["normalize"] = {{"mean", {0.5, 0.5}}, {"std", 0.5}};
  r = run_tinycnn({"shapes", dir_.write("n.json", config.dump())});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("training.normalize.mean: expected 3 values (one per input channel), got 2"),
            std::string::npos)
      << r.err;
  config = cifar_config();
  config["training"]["augment"] = {{"random_crop", {{"padding", -1}}}};
  r = run_tinycnn({"shapes", dir_.write("a.json", config.dump())});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("training.augment.random_crop.padding"), std::string::npos) << r.err;
  config["training"]["augment"] = {{"rotate", 10}};
  r = run_tinycnn({"shapes", dir_.write("b.json", config.dump())});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("rotate"), std::string::npos) << r.err;
  std::ofstream(cifar_ + "/test_batch.bin", std::ios::app) << "x";  // not whole records
  r = run_tinycnn(
      {"train", dir_.write("c.json", cifar_config().dump()), "--data", cifar_, "--out", path("y")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("test_batch.bin: 49169 bytes, expected a whole number of 3073-byte"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace tinycnn::testing
