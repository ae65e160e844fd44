// Image files run as processes: a folder of PNG / BMP / JPEG images trained on, `predict` on
// image files (the same probabilities as the model gives them through the data set's path),
// the channel conversions, resizing, and every bad folder or file named in one line.
#include <gtest/gtest.h>
#include <stb_image.h>
#include <stb_image_write.h>
#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "data/dataset.hpp"
#include "data/image_file.hpp"
#include "data/image_folder.hpp"
#include "io/safetensors.hpp"
#include "model/builder.hpp"
#include "run.hpp"
#include "run/checkpoint.hpp"
#include "tiny_run.hpp"
#include "train/dataset.hpp"

namespace tinycnn::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// An RGB image, h x w, of class k: red, green or blue stripes with a little variation.
void write_image(const std::string& path, int k, int variant, int h = 8, int w = 8) {
  std::vector<uint8_t> rgb(static_cast<size_t>(h * w * 3));
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < 3; ++c) {
        const bool on = c == k && (y + variant) % 2 == 0;
        rgb[static_cast<size_t>((y * w + x) * 3 + c)] = static_cast<uint8_t>(on ? 250 : 10 + x);
      }
    }
  }
  const std::string ext = fs::path(path).extension().string();
  int ok = 0;
  if (ext == ".png") ok = stbi_write_png(path.c_str(), w, h, 3, rgb.data(), w * 3);
  if (ext == ".bmp") ok = stbi_write_bmp(path.c_str(), w, h, 3, rgb.data());
  if (ext == ".jpg") ok = stbi_write_jpg(path.c_str(), w, h, 3, rgb.data(), 95);
  ASSERT_NE(ok, 0) << path;
}

json folder_config() {
  return json::parse(R"({
    "name": "folder",
    "input": {"channels": 3, "height": 8, "width": 8},
    "layers": [
      {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
      {"type": "relu"},
      {"type": "maxpool2d", "kernel_size": 2},
      {"type": "flatten"},
      {"type": "linear", "out_features": 3}
    ],
    "training": {"dataset": "image_folder", "epochs": 3, "batch_size": 4, "seed": 1,
                 "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9}}
  })");
}

class ImageCli : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = path("images");
    const char* classes[] = {"blue_ones", "Red", "green"};  // sorted: Red, blue_ones, green
    const int channel[] = {2, 0, 1};
    for (const char* split : {"train", "test"}) {
      for (int k = 0; k < 3; ++k) {
        const std::string dir = root_ + "/" + split + "/" + classes[k];
        fs::create_directories(dir);
        for (int v = 0; v < 4; ++v) {
          const char* ext = v == 1 ? ".bmp" : v == 2 ? ".jpg" : ".png";
          write_image(dir + "/img" + std::to_string(v) + ext, channel[k], v);
        }
      }
    }
    dir_.write("images/train/Red/.hidden", "not an image, ignored");
    config_ = dir_.write("folder.json", folder_config().dump());
  }
  std::string path(const std::string& name) const { return (dir_.path() / name).string(); }
  RunResult train(const std::string& config, const std::string& out) {
    return run_tinycnn({"train", config, "--data", root_, "--out", out});
  }
  TempDir dir_;
  std::string root_, config_;
};

TEST_F(ImageCli, AFolderTrainsWithItsClassNames) {
  const RunResult r = train(config_, path("run"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto ckpt = io::read_safetensors(path("run/checkpoint.safetensors"));
  EXPECT_EQ(json::parse(ckpt.metadata.at("classes")),
            json::parse(R"(["Red", "blue_ones", "green"])"));  // byte-wise sorted
  const RunResult e = run_tinycnn({"eval", config_, "--data", root_, "--checkpoint",
                                   path("run/checkpoint.safetensors"), "--json"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(json::parse(e.out)["classes"][1], "blue_ones");
}

TEST_F(ImageCli, PredictGivesTheModelsProbabilitiesThroughTheDataPath) {
  ASSERT_EQ(train(config_, path("run")).exit_code, 0);
  const std::string a = root_ + "/test/green/img0.png", b = root_ + "/test/Red/img3.png";
  const RunResult r =
      run_tinycnn({"predict", config_, "--checkpoint", path("run/checkpoint.safetensors"), a, b,
                   "--top", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json p = json::parse(r.out)["predictions"];
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0]["file"], a);
  ASSERT_EQ(p[0]["top"].size(), 2u);
  EXPECT_EQ(p[0]["probabilities"].size(), 3u);
  // The same images through the data set and the model, as eval sees them.
  const model::ModelSpec spec = model::parse_config(folder_config());
  auto net = model::build_model(spec);
  run::load_checkpoint(path("run/checkpoint.safetensors"), *net, nullptr);
  const data::Dataset test = train::load_split(spec, root_, train::Split::Test, 3);
  tensor::Tensor images;
  std::vector<int32_t> labels;
  test.gather(std::vector<int64_t>{8, 3}, train::normalization(spec.training), images, labels);
  autograd::NoGradGuard no_grad;
  net->set_training(false);
  const auto logits = net->forward(autograd::Variable(images)).data();
  for (int f = 0; f < 2; ++f) {
    double sum = 0;
    for (int c = 0; c < 3; ++c) sum += std::exp(static_cast<double>(logits[f * 3 + c]));
    for (int c = 0; c < 3; ++c) {
      EXPECT_NEAR(p[f]["probabilities"][c].get<double>(),
                  std::exp(static_cast<double>(logits[f * 3 + c])) / sum, 1e-6);
    }
    EXPECT_GE(p[f]["top"][0]["probability"].get<double>(),
              p[f]["top"][1]["probability"].get<double>());
  }
  EXPECT_EQ(p[0]["top"][0]["name"],
            json::parse(R"(["Red", "blue_ones", "green"])")[p[0]["top"][0]["class"].get<int>()]);
  // Text output names the classes too.
  const RunResult t =
      run_tinycnn({"predict", config_, "--checkpoint", path("run/checkpoint.safetensors"), a});
  EXPECT_EQ(t.exit_code, 0);
  EXPECT_NE(t.out.find("class "), std::string::npos) << t.out;
}

TEST_F(ImageCli, VizDrawsAColourModelInColour) {
  ASSERT_EQ(train(config_, path("run")).exit_code, 0);
  const RunResult r =
      run_tinycnn({"viz", config_, "--checkpoint", path("run/checkpoint.safetensors"), "--data",
                   root_, "--out", path("viz"), "--image", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto coloured = [](const std::string& png) {
    int w = 0, h = 0, n = 0;
    unsigned char* p = stbi_load(png.c_str(), &w, &h, &n, 3);
    EXPECT_NE(p, nullptr) << png;
    int count = 0;
    for (int i = 0; p && i < w * h; ++i) {
      const int red = p[3 * i], green = p[3 * i + 1], blue = p[3 * i + 2];
      // Neither grey nor the diverging map's blue-white-red (which has g == b or r == g).
      count += red != green && green != blue && red != blue;
    }
    stbi_image_free(p);
    return count;
  };
  EXPECT_GT(coloured(path("viz/filters_0.png")), 0);  // the colour column
  for (const auto& e : fs::directory_iterator(path("viz"))) {
    if (e.path().filename().string().starts_with("features_0_")) {
      EXPECT_GT(coloured(e.path().string()), 0) << e.path();  // the input tile
    }
  }
}

TEST_F(ImageCli, PredictNamesAFileItCannotDecodeAndPrintsNothing) {
  ASSERT_EQ(train(config_, path("run")).exit_code, 0);
  const std::string bad = dir_.write("bad.png", "not a png");
  const RunResult r =
      run_tinycnn({"predict", config_, "--checkpoint", path("run/checkpoint.safetensors"),
                   root_ + "/test/green/img0.png", bad});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("bad.png: cannot decode as an image"), std::string::npos) << r.err;
}

TEST_F(ImageCli, AHeaderClaimingTooManyPixelsIsRefusedBeforeDecoding) {
  // 64 bytes of BMP claiming 11778 x 14857 (each side under the side limit): stb_image would fill
  // 525 MB for it.
  const std::string bytes = {0x42, 0x4d, 0x3e, 0x00, 0x00, 0x00, 0x00,       0x00, 0x00, 0x00, 0x36,
                             0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00,       0x02, 0x2e, 0x00, 0x00,
                             0x09, 0x3a, 0x00, 0x00, 0x01, 0x00, 0x18,       0x00, 0x00, 0x00, 0x00,
                             0x00, 0x13, 0x0b, 0x00, 0x00, 0x00, char(0xf6), 0x00, 0x00};
  const std::string bmp = dir_.write("huge.bmp", bytes);
  try {
    (void)data::read_image_file(bmp, 3);
    FAIL() << "decoded";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("huge.bmp: the image is too large: 11778x14857 = "
                                         "174985746 pixels, expected at most 16777216"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(ImageCli, FormatsOtherThanTheDocumentedOnesAreRefused) {
  // A valid 1x1 GIF (stb_image decodes GIF, PSD, HDR, PIC and TGA too; a data set should not).
  const std::string gif = dir_.write(
      "one.gif", std::string("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00"
                             "\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b",
                             35));
  int w = 0, h = 0, c = 0;
  ASSERT_EQ(stbi_info(gif.c_str(), &w, &h, &c), 1);  // stb_image itself would take it
  try {
    (void)data::read_image_file(gif, 3);
    FAIL() << "decoded";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "one.gif: cannot decode as an image (expected a PNG, JPEG, BMP, PGM or PPM"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(ImageCli, ConversionsAndResizing) {
  const std::string red = path("red.png");
  const std::vector<uint8_t> px(4 * 4 * 3, 0);
  std::vector<uint8_t> rgb = px;
  for (size_t i = 0; i < rgb.size(); i += 3) rgb[i] = 255;
  ASSERT_NE(stbi_write_png(red.c_str(), 4, 4, 3, rgb.data(), 12), 0);
  const data::Image colour = data::read_image_file(red, 3);
  EXPECT_EQ(colour.pixels[0], 255);                                     // channel 0 is red
  EXPECT_EQ(colour.pixels[16], 0);                                      // green plane
  EXPECT_EQ(data::read_image_file(red, 1).pixels[0], (77 * 255) >> 8);  // luminance
  EXPECT_THROW(data::read_image_file(red, 5), core::Error);
  const data::Image half = data::resize_bilinear(colour, 2, 2);
  EXPECT_EQ(half.pixels[0], 255);
  EXPECT_EQ(half.pixels.size(), 12u);
  // A folder of other-sized images: refused, or resized with training.resize.
  write_image(root_ + "/train/green/big.png", 1, 0, 16, 16);
  RunResult r = train(config_, path("a"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("big.png: the image is 16x16, the config's input is 8x8"), std::string::npos)
      << r.err;
  json config = folder_config();
  config["training"]["resize"] = true;
  r = train(dir_.write("resize.json", config.dump()), path("b"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(ImageCli, BadFoldersGetOneLineNamingThem) {
  const auto expect_refused = [&](const std::string& what) {
    const RunResult r = train(config_, path("x"));
    EXPECT_EQ(r.exit_code, 1) << what;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
  };
  dir_.write("images/train/Red/notes.txt", "hello");
  expect_refused("notes.txt: cannot decode as an image");
  fs::remove(root_ + "/train/Red/notes.txt");
  fs::create_directories(root_ + "/train/zebra");
  expect_refused("4 class folders, but the model has 3 outputs");
  fs::create_directories(root_ + "/test/zebra");
  json config = folder_config();
  config["layers"][4]["out_features"] = 4;
  const RunResult empty = train(dir_.write("four.json", config.dump()), path("y"));
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("zebra: holds no images"), std::string::npos) << empty.err;
  fs::remove(root_ + "/train/zebra");
  expect_refused("class folders differ from train/'s");
}

// The message a read of `file` fails with (FAIL when it is read).
std::string read_error(const std::string& file) {
  try {
    (void)data::read_image_file(file, 3);
  } catch (const core::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << file << " was read";
  return "";
}

// 3, 14: a FIFO among a folder's images (or given to predict) blocked forever; a missing file
// was "cannot decode as an image". Both are refused at once, saying what they are.
TEST_F(ImageCli, AFifoOrAMissingFileIsSaidSoNotWaitedOn) {
  ASSERT_EQ(train(config_, path("run")).exit_code, 0);
  const std::string fifo = root_ + "/train/Red/pipe.png";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  RunResult r = train(config_, path("other"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("pipe.png: expected an image file, got a FIFO"), std::string::npos) << r.err;
  const std::string checkpoint = path("run/checkpoint.safetensors");
  r = run_tinycnn({"predict", config_, "--checkpoint", checkpoint, fifo});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("pipe.png: expected an image file, got a FIFO"), std::string::npos) << r.err;
  r = run_tinycnn({"predict", config_, "--checkpoint", checkpoint, path("gone.png")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("gone.png: no such file"), std::string::npos) << r.err;
  r = run_tinycnn({"predict", config_, "--checkpoint", checkpoint, root_});
  EXPECT_NE(r.err.find("expected an image file, got a directory"), std::string::npos) << r.err;
}

// 11, 12: a top-down BMP (negative height, legal) was refused as "32x-32 pixels"; a BMP cut
// to 40-50 % of its bytes was decoded (stb_image fills the missing rows) and trained on.
TEST_F(ImageCli, TopDownBmpsAreReadAndTruncatedOnesRefused) {
  const std::string bottom_up = root_ + "/train/green/img1.bmp";
  std::string bytes = slurp(bottom_up);
  // stb writes 24-bit rows bottom-up at offset 54: 8 rows of 24 bytes (a multiple of 4).
  ASSERT_EQ(bytes.size(), 54u + 8 * 24);
  std::string top_down = bytes.substr(0, 54);
  for (int row = 7; row >= 0; --row) top_down += bytes.substr(54 + 24 * row, 24);
  const int32_t minus_eight = -8;
  std::memcpy(top_down.data() + 22, &minus_eight, 4);
  const data::Image a = data::read_image_file(bottom_up, 3);
  const data::Image b = data::read_image_file(dir_.write("top_down.bmp", top_down), 3);
  EXPECT_EQ(b.height, 8);
  EXPECT_EQ(a.pixels, b.pixels);
  const std::string cut = dir_.write("cut.bmp", bytes.substr(0, bytes.size() * 45 / 100));
  EXPECT_NE(read_error(cut).find("cut.bmp: a truncated BMP: its 8x8 pixels need 246 bytes, the "
                                 "file has 110"),
            std::string::npos)
      << read_error(cut);
  ASSERT_EQ(train(config_, path("run")).exit_code, 0);
  const RunResult r =
      run_tinycnn({"predict", config_, "--checkpoint", path("run/checkpoint.safetensors"), cut});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("a truncated BMP"), std::string::npos) << r.err;
}

// 20: a PNG header announcing 100000 x 100000 was refused as "unknown image type".
TEST_F(ImageCli, AHugePngHeaderIsSaidToBeTooLarge) {
  std::string png = "\x89PNG\r\n\x1a\n";
  png += std::string("\x00\x00\x00\x0d", 4) + "IHDR";
  png += std::string("\x00\x01\x86\xa0\x00\x01\x86\xa0\x08\x02\x00\x00\x00", 13);
  png += std::string(4, '\0') + std::string("\x00\x00\x00\x00IEND", 8);
  const std::string file = dir_.write("huge.png", png);
  EXPECT_NE(read_error(file).find("huge.png: the image is too large: 100000x100000 pixels"),
            std::string::npos)
      << read_error(file);
}

// 8: a class folder whose name is not UTF-8 trained a whole epoch, then failed in the JSON
// writer naming no file. It is refused before any image is read; a file name that is not UTF-8
// is printed by predict --json with U+FFFD for the bad byte.
TEST_F(ImageCli, NamesThatAreNotUtf8) {
  fs::rename(root_ + "/train/green", root_ +
                                         "/train/gr\xff"
                                         "een");
  fs::rename(root_ + "/test/green", root_ +
                                        "/test/gr\xff"
                                        "een");
  RunResult r = train(config_, path("run"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("gr\\xffeen: a class folder's name is not UTF-8"), std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(path("run/checkpoint.safetensors")));
  fs::rename(root_ +
                 "/train/gr\xff"
                 "een",
             root_ + "/train/green");
  fs::rename(root_ +
                 "/test/gr\xff"
                 "een",
             root_ + "/test/green");
  ASSERT_EQ(train(config_, path("run")).exit_code, 0);
  const std::string odd = path("odd\xfe.png");
  fs::copy_file(root_ + "/test/green/img0.png", odd);
  r = run_tinycnn(
      {"predict", config_, "--checkpoint", path("run/checkpoint.safetensors"), odd, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(json::parse(r.out)["predictions"][0]["file"].get<std::string>().find("odd\xef\xbf\xbd"),
            std::string::npos);
}

// 6: a resume after a class folder was renamed (so the sorted order changed) permuted every
// label and saved the checkpoint under the new names.
TEST_F(ImageCli, AResumeThatWouldRelabelTheExamplesIsRefused) {
  json config = folder_config();
  config["training"]["epochs"] = 1;
  const std::string one = dir_.write("one.json", config.dump());
  ASSERT_EQ(train(one, path("run")).exit_code, 0);
  const std::string checkpoint = path("run/checkpoint.safetensors");
  const std::string before = slurp(checkpoint);
  for (const char* split : {"train", "test"}) {
    fs::rename(root_ + "/" + split + "/Red", root_ + "/" + split + "/zed");  // now last
  }
  const RunResult r = run_tinycnn({"train", one, "--data", root_, "--out", path("run"), "--resume",
                                   checkpoint, "--epochs", "2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("classes were Red, blue_ones, green; the data now names blue_ones, "
                       "green, zed: resuming would relabel the examples"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(slurp(checkpoint), before);
}

}  // namespace
}  // namespace tinycnn::testing
