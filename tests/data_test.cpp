// data: the IDX reader rejects every malformed file with a Runtime error naming the file;
// MnistDataset checks the split against the model and normalises batches.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.hpp"
#include "data/idx.hpp"
#include "data/mnist.hpp"
#include "support/idx_writer.hpp"

namespace tinycnn::data {
namespace {

using testing::idx_bytes;
using testing::write_file;

class DataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tinycnn-data-" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string file(const std::string& name, const std::string& bytes) {
    const std::string p = (dir_ / name).string();
    write_file(p, bytes);
    return p;
  }
  // Expects a Runtime error whose message contains the path and `what`.
  template <typename F>
  void expect_error(F&& f, const std::string& path, const std::string& what) {
    try {
      f();
      FAIL() << "no error for " << what;
    } catch (const core::Error& e) {
      EXPECT_EQ(e.kind(), core::ErrorKind::Runtime);
      const std::string msg = e.what();
      EXPECT_NE(msg.find(path), std::string::npos) << msg;
      EXPECT_NE(msg.find(what), std::string::npos) << msg;
    }
  }
  std::filesystem::path dir_;
};

TEST_F(DataTest, ReadsValidFiles) {
  const auto img = file("i", idx_bytes(2051, {2, 2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  const IdxImages images = read_idx_images(img);
  EXPECT_EQ(images.count, 2);
  EXPECT_EQ(images.rows, 2);
  EXPECT_EQ(images.cols, 3);
  EXPECT_EQ(images.pixels[11], 12);
  const auto lab = file("l", idx_bytes(2049, {3}, {0, 9, 4}));
  EXPECT_EQ(read_idx_labels(lab).labels, (std::vector<uint8_t>{0, 9, 4}));
}

TEST_F(DataTest, RejectsMalformedImageFiles) {
  const std::string good = idx_bytes(2051, {2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  const auto p = [&](const std::string& name, const std::string& bytes) {
    return file(name, bytes);
  };
  std::string path = p("magic", idx_bytes(2049, {2, 2, 2}, std::vector<uint8_t>(8)));
  expect_error([&] { read_idx_images(path); }, path, "expected IDX image magic 2051");
  for (size_t cut : {0u, 3u, 4u, 7u, 8u, 11u, 12u, 15u}) {  // inside every header field
    path = p("cut" + std::to_string(cut), good.substr(0, cut));
    expect_error([&] { read_idx_images(path); }, path, "truncated header");
  }
  path = p("payload", good.substr(0, good.size() - 1));
  expect_error([&] { read_idx_images(path); }, path, "(truncated)");
  path = p("trailing", good + "x");
  expect_error([&] { read_idx_images(path); }, path, "(trailing bytes)");
  path = p("zero_rows", idx_bytes(2051, {1, 0, 2}, {}));
  expect_error([&] { read_idx_images(path); }, path, "expected image dimensions");
  // 4 billion images of 65536 x 65536 would be exabytes: refused by size, never allocated.
  path = p("huge", idx_bytes(2051, {0xffffffffu, 65536, 65536}, {}));
  expect_error([&] { read_idx_images(path); }, path, "its header announces 4294967295 item(s)");
  path = (dir_ / "missing").string();
  expect_error([&] { read_idx_images(path); }, path, "no such file");
  expect_error([&] { read_idx_images(dir_.string()); }, dir_.string(), "no such file");
}

TEST_F(DataTest, RejectsMalformedLabelFiles) {
  std::string path = file("magic", idx_bytes(2051, {2}, {1, 2}));
  expect_error([&] { read_idx_labels(path); }, path, "expected IDX label magic 2049");
  path = file("short", idx_bytes(2049, {3}, {1, 2}));
  expect_error([&] { read_idx_labels(path); }, path, "(truncated)");
  path = file("big_label", idx_bytes(2049, {3}, {1, 10, 2}));
  expect_error([&] { read_idx_labels(path); }, path, "label 1 is 10, expected 0..9");
  path = file("for_5_classes", idx_bytes(2049, {2}, {4, 7}));
  expect_error([&] { read_idx_labels(path, 5); }, path, "label 1 is 7, expected 0..4");
  path = file("header_only", idx_bytes(2049, {}, {}));
  expect_error([&] { read_idx_labels(path); }, path, "truncated header");
}

TEST_F(DataTest, DatasetChecksCountsAndImageSize) {
  const std::string dir = dir_.string();
  testing::write_mnist_split(dir, "train", 5, 6, 7);
  DatasetOptions o{.dir = dir, .split = "train", .height = 6, .width = 7};
  MnistDataset ds(o);
  EXPECT_EQ(ds.size(), 5);
  EXPECT_EQ(ds.label(3), 3);

  o.height = 28;
  o.width = 28;
  expect_error([&] { MnistDataset{o}; }, "train-images-idx3-ubyte",
               "images are 6x7, but the config's input is 28x28");

  write_file(dir + "/train-labels-idx1-ubyte", idx_bytes(2049, {4}, {0, 1, 2, 3}));
  o.height = 6;
  o.width = 7;
  expect_error([&] { MnistDataset{o}; }, "train-labels-idx1-ubyte", "has 4 labels, but");
}

TEST_F(DataTest, LimitAndNormalisedGather) {
  const std::string dir = dir_.string();
  testing::write_mnist_split(dir, "t10k", 20, 2, 2);
  MnistDataset ds({.dir = dir, .split = "t10k", .height = 2, .width = 2, .limit = 3});
  EXPECT_EQ(ds.size(), 3);
  tensor::Tensor images;
  std::vector<int32_t> labels;
  ds.gather(std::vector<int64_t>{2, 0}, 0.5, 0.25, images, labels);
  EXPECT_EQ(images.shape(), tensor::Shape({2, 1, 2, 2}));
  EXPECT_EQ(labels, (std::vector<int32_t>{2, 0}));
  // image 2, pixel 1 = (2*7 + 1) = 15 -> (15/255 - 0.5) / 0.25
  EXPECT_NEAR(images[1], (15.0 / 255.0 - 0.5) / 0.25, 1e-6);
  EXPECT_NEAR(images[4], (0.0 - 0.5) / 0.25, 1e-6);
  EXPECT_THROW(ds.gather(std::vector<int64_t>{3}, 0.0, 1.0, images, labels), core::Error);
}

}  // namespace
}  // namespace tinycnn::data
