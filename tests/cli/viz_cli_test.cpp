// `tinycnn viz` run as a process: PNG files that decode (stb_image) to the documented sizes,
// known weights at known tiles, the --json listing, and bad arguments.
#include <gtest/gtest.h>
#include <stb_image.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/safetensors.hpp"
#include "run.hpp"
#include "support/idx_writer.hpp"

namespace tinycnn::testing {
namespace {

using nlohmann::json;

const char* kTinyConfig = R"({
  "name": "tiny", "input": {"channels": 1, "height": 8, "width": 8},
  "layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
             {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
             {"type": "flatten"}, {"type": "linear", "out_features": 10}]})";

struct Png {
  int width = 0, height = 0;
  std::vector<unsigned char> rgb;
  std::array<int, 3> at(int x, int y) const {
    const size_t i = (static_cast<size_t>(y) * width + x) * 3;
    return {rgb[i], rgb[i + 1], rgb[i + 2]};
  }
};

Png decode(const std::string& path) {
  Png png;
  int channels = 0;
  unsigned char* data = stbi_load(path.c_str(), &png.width, &png.height, &channels, 3);
  if (!data) return png;
  png.rgb.assign(data, data + static_cast<size_t>(png.width) * png.height * 3);
  stbi_image_free(data);
  return png;
}

class VizCli : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = (dir_.path() / "data").string();
    std::filesystem::create_directories(data_);
    write_mnist_split(data_, "t10k", 16, 8, 8);
    config_ = dir_.write("tiny.json", kTinyConfig);
    // Known weights: zero but for +1 at (out 1, in 0, 0, 0) and -1 at (out 2, in 0, 2, 2).
    tensor::Tensor w = tensor::Tensor::zeros({4, 1, 3, 3});
    w[1 * 9 + 0] = 1.0f;
    w[2 * 9 + 2 * 3 + 2] = -1.0f;
    checkpoint_ = (dir_.path() / "known.safetensors").string();
    io::write_safetensors(checkpoint_,
                          {{"layers.0.weight", w},
                           {"layers.0.bias", tensor::Tensor::zeros({4})},
                           {"layers.4.weight", tensor::Tensor::zeros({10, 64})},
                           {"layers.4.bias", tensor::Tensor::zeros({10})}},
                          {});
  }
  TempDir dir_;
  std::string data_, config_, checkpoint_;
};

TEST_F(VizCli, FilterGridHasTheDocumentedSizeAndKnownPixels) {
  const std::string out = (dir_.path() / "viz").string();
  const RunResult r = run_tinycnn({"viz", config_, "--checkpoint", checkpoint_, "--out", out,
                                   "--data", data_, "--image", "3", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc["true_label"], 3);
  ASSERT_EQ(doc["files"].size(), 3u);  // filters of layer 0; features of layers 0 and 2
  for (const auto& f : doc["files"]) {
    const Png png = decode(f["file"]);
    EXPECT_EQ(png.width, f["width"]) << f["file"];
    EXPECT_EQ(png.height, f["height"]) << f["file"];
  }
  // 3x3 kernels: 16 px per weight (60 / 3, at most 16), 48 px tiles, 3 px gaps; margins: 12 px
  // left ("3" at scale 2 plus 6), 16 px top.
  const Png filters = decode(out + "/filters_0.png");
  ASSERT_EQ(filters.width, 12 + 1 * (48 + 3));
  ASSERT_EQ(filters.height, 16 + 4 * (48 + 3));
  const int left = 12, top = 16, step = 51, cell = 16;
  EXPECT_EQ(filters.at(left + 6, top + 1 * step + 6), (std::array<int, 3>{255, 0, 0}));
  EXPECT_EQ(filters.at(left + 2 * cell + 6, top + 2 * step + 2 * cell + 6),
            (std::array<int, 3>{0, 0, 255}));
  EXPECT_EQ(filters.at(left + 6, top + 6), (std::array<int, 3>{255, 255, 255}));  // zero weight
  EXPECT_EQ(filters.at(left - 2, top + 3 * step + 40), (std::array<int, 3>{235, 235, 235}));
  // Features of conv layer 0: the input and 4 maps in one row of 56 px tiles with 4 px gaps.
  const std::string features = doc["files"][1]["file"];
  EXPECT_NE(features.find("features_0_true3_pred"), std::string::npos) << features;
  const Png maps = decode(features);
  EXPECT_EQ(maps.width, 4 + 5 * (56 + 4));
  EXPECT_EQ(maps.height, 4 + 1 * (56 + 4));
}

TEST_F(VizCli, BadArgumentsGiveErrorLines) {
  RunResult r = run_tinycnn({"viz", config_, "--checkpoint", checkpoint_, "--out",
                             (dir_.path() / "v").string(), "--data", data_, "--image", "16"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("error: --image: expected 0..15, got 16"), std::string::npos) << r.err;
  json c = json::parse(kTinyConfig);
  c["layers"][0]["out_channels"] = 5;
  r = run_tinycnn({"viz", dir_.write("other.json", c.dump()), "--checkpoint", checkpoint_, "--out",
                   (dir_.path() / "v").string(), "--data", data_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("layers.0.weight has shape"), std::string::npos) << r.err;
  r = run_tinycnn({"viz", config_, "--checkpoint", checkpoint_, "--out", config_, "--data", data_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot create the output directory"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tinycnn::testing
