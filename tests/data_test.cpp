// data: the IDX reader rejects every malformed file with a Runtime error naming the file;
// datasets hold splits as bytes and normalise (and augment) batches.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>

#include "core/error.hpp"
#include "data/cifar10.hpp"
#include "data/dataset.hpp"
#include "data/idx.hpp"
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

TEST_F(DataTest, SplitChecksCounts) {
  const std::string dir = dir_.string();
  testing::write_mnist_split(dir, "train", 5, 6, 7);
  const Dataset ds = read_idx_split(dir, "train", 10);
  EXPECT_EQ(ds.size(), 5);
  EXPECT_EQ(ds.height(), 6);
  EXPECT_EQ(ds.width(), 7);
  EXPECT_EQ(ds.label(3), 3);
  write_file(dir + "/train-labels-idx1-ubyte", idx_bytes(2049, {4}, {0, 1, 2, 3}));
  expect_error([&] { read_idx_split(dir, "train", 10); }, "train-labels-idx1-ubyte",
               "has 4 labels, but");
}

TEST_F(DataTest, LimitAndNormalisedGather) {
  const std::string dir = dir_.string();
  testing::write_mnist_split(dir, "t10k", 20, 2, 2);
  Dataset ds = read_idx_split(dir, "t10k", 10);
  ds.keep_first(3);
  EXPECT_EQ(ds.size(), 3);
  tensor::Tensor images;
  std::vector<int32_t> labels;
  ds.gather(std::vector<int64_t>{2, 0}, {.mean = {0.5}, .stddev = {0.25}}, images, labels);
  EXPECT_EQ(images.shape(), tensor::Shape({2, 1, 2, 2}));
  EXPECT_EQ(labels, (std::vector<int32_t>{2, 0}));
  // image 2, pixel 1 = (2*7 + 1) = 15 -> (15/255 - 0.5) / 0.25
  EXPECT_NEAR(images[1], (15.0 / 255.0 - 0.5) / 0.25, 1e-6);
  EXPECT_NEAR(images[4], (0.0 - 0.5) / 0.25, 1e-6);
  EXPECT_THROW(ds.gather(std::vector<int64_t>{3}, Normalization{}, images, labels), core::Error);
}

TEST_F(DataTest, GzipFilesReadAsThePlainOnes) {
  const std::string dir = dir_.string();
  testing::write_mnist_split(dir, "train", 9, 4, 5);
  const Dataset plain = read_idx_split(dir, "train", 10);
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"}) {
    const std::string p = dir + "/" + name;
    std::ifstream in(p, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    write_file(p + ".gz", testing::gzip_bytes(bytes));
    std::filesystem::remove(p);
  }
  const Dataset gz = read_idx_split(dir, "train", 10);
  ASSERT_EQ(gz.size(), plain.size());
  EXPECT_TRUE(std::equal(plain.image(0), plain.image(0) + 9 * 20, gz.image(0)));
  EXPECT_EQ(gz.label(8), plain.label(8));
  EXPECT_NE(gz.source().find(".gz"), std::string::npos);
}

TEST_F(DataTest, BadGzipFilesAreNamed) {
  const std::string good = idx_bytes(2051, {2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  const std::string gz = testing::gzip_bytes(good);
  const auto truncated = file("t.gz", gz.substr(0, gz.size() / 2));
  expect_error([&] { read_idx_images(truncated); }, truncated, "");
  std::string corrupt = gz;
  for (size_t i = 12; i < corrupt.size() - 8; ++i) corrupt[i] = static_cast<char>(~corrupt[i]);
  const auto bad = file("c.gz", corrupt);
  expect_error([&] { read_idx_images(bad); }, bad, "");
  // A header announcing more (or fewer) images than the stream holds.
  const auto lying = file("l.gz", testing::gzip_bytes(idx_bytes(2051, {1000000, 28, 28}, {1, 2})));
  expect_error([&] { read_idx_images(lying); }, lying, "truncated");
  const auto trailing = file("x.gz", testing::gzip_bytes(good + "extra"));
  expect_error([&] { read_idx_images(trailing); }, trailing, "trailing bytes");
  // Bytes after the gzip stream that are not another gzip member (gzread skips them silently).
  for (const std::string& tail :
       {std::string("garbage"), std::string(1, '\x1f'), std::string(64, '\0')}) {
    const auto after = file("after.gz", gz + tail);
    expect_error([&] { read_idx_images(after); }, after, "trailing bytes after the gzip data");
  }
  // An empty file is no gzip stream.
  const auto empty = file("e.gz", "");
  expect_error([&] { read_idx_images(empty); }, empty, "truncated gzip data");
}

// Members one after another are one stream, as gunzip reads them.
TEST_F(DataTest, GzipMembersReadAsOneStream) {
  const std::string good = idx_bytes(2051, {2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  const std::string whole = testing::gzip_bytes(good);
  const std::string split = testing::gzip_bytes(good.substr(0, 10)) +
                            testing::gzip_bytes(good.substr(10, 5)) +
                            testing::gzip_bytes(good.substr(15));
  const auto one = read_idx_images(file("one.gz", whole));
  const auto three = read_idx_images(file("three.gz", split));
  EXPECT_EQ(one.count, three.count);
  EXPECT_EQ(one.pixels, three.pixels);
}

TEST_F(DataTest, CifarRecordsAreChwWithTheirLabels) {
  std::vector<uint8_t> pixels;
  std::vector<int32_t> labels;
  parse_cifar10_batch(testing::cifar_batch_bytes(2, /*red=*/true), "red.bin", 10, pixels, labels);
  ASSERT_EQ(pixels.size(), 2u * 3072);
  EXPECT_EQ(labels, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(pixels[0], 255);  // channel 0 (red) first
  EXPECT_EQ(pixels[1023], 255);
  EXPECT_EQ(pixels[1024], 0);    // then green
  EXPECT_EQ(pixels[3072], 255);  // the next record's red
  std::string bad = testing::cifar_batch_bytes(3);
  bad[3073] = 10;
  expect_error([&] { parse_cifar10_batch(bad, "b.bin", 10, pixels, labels); }, "b.bin",
               "record 1 has label 10, expected 0..9");
  expect_error([&] { parse_cifar10_batch(bad.substr(1), "s.bin", 10, pixels, labels); }, "s.bin",
               "expected a whole number of 3073-byte records");
  expect_error(
      [&] { parse_cifar10_batch(testing::cifar_batch_bytes(6), "k.bin", 5, pixels, labels); },
      "k.bin", "has label 5, expected 0..4");
}

TEST_F(DataTest, CifarSplitsAndClassNames) {
  const std::string dir = dir_.string();
  testing::write_cifar10(dir, 4, 3);
  write_file(dir + "/batches.meta.txt",
             "airplane\nautomobile\nbird\ncat\ndeer\n\ndog\nfrog\nhorse\nship\ntruck\n\n");
  const Dataset train = read_cifar10_split(dir, true, 10);
  EXPECT_EQ(train.size(), 20);
  EXPECT_EQ(train.channels(), 3);
  EXPECT_EQ(train.height(), 32);
  ASSERT_EQ(train.classes().size(), 10u);
  EXPECT_EQ(train.classes()[5], "dog");
  EXPECT_EQ(read_cifar10_split(dir, false, 10).size(), 3);
  std::filesystem::remove(dir + "/data_batch_3.bin");
  expect_error([&] { read_cifar10_split(dir, true, 10); }, "data_batch_3.bin", "no such file");
}

// Class names go into JSON: a name that is not UTF-8 is refused when the files are read, naming
// the file and line, not after an epoch by the JSON writer. A names file that is there but
// cannot be read is an error, not a run with unnamed classes.
TEST_F(DataTest, CifarClassNamesMustBeUtf8AndReadable) {
  const std::string dir = dir_.string();
  testing::write_cifar10(dir, 2, 2);
  write_file(dir + "/batches.meta.txt", "airplane\ncar\xff\xfe\n");
  expect_error([&] { read_cifar10_split(dir, false, 10); }, "batches.meta.txt:2",
               "the class name car\\xff\\xfe is not UTF-8");
  std::filesystem::remove(dir + "/batches.meta.txt");
  std::filesystem::create_directory(dir + "/batches.meta.txt");
  expect_error([&] { read_cifar10_split(dir, false, 10); }, "batches.meta.txt",
               "expected a text file of class names, got a directory");
  std::filesystem::remove(dir + "/batches.meta.txt");
  EXPECT_TRUE(read_cifar10_split(dir, false, 10).classes().empty());  // no file: unnamed
}

TEST_F(DataTest, PerChannelNormalisation) {
  std::vector<uint8_t> pixels(2 * 3 * 4, 51);  // 51 / 255 = 0.2
  const Dataset ds("mem", 3, 2, 2, pixels, {0, 1});
  tensor::Tensor images;
  std::vector<int32_t> labels;
  ds.gather(std::vector<int64_t>{1}, {.mean = {0.1, 0.2, 0.3}, .stddev = {0.5, 0.25, 0.1}}, images,
            labels);
  EXPECT_NEAR(images[0], (0.2 - 0.1) / 0.5, 1e-6);
  EXPECT_NEAR(images[4], 0.0, 1e-6);
  EXPECT_NEAR(images[8], (0.2 - 0.3) / 0.1, 1e-5);
  EXPECT_THROW(
      ds.gather(std::vector<int64_t>{0}, {.mean = {0.1, 0.2}, .stddev = {1.0}}, images, labels),
      core::Error);
}

TEST_F(DataTest, AugmentationIsAFunctionOfSeedEpochAndExample) {
  // 1 channel, 4x4, pixel value = 10 * (row + 1) + column: a crop shifts, a flip mirrors, the
  // padding is black.
  std::vector<uint8_t> pixels;
  for (int i = 0; i < 8; ++i) {
    for (int y = 0; y < 4; ++y) {
      for (int x = 0; x < 4; ++x) pixels.push_back(static_cast<uint8_t>(10 * (y + 1) + x));
    }
  }
  const Dataset ds("mem", 1, 4, 4, pixels, std::vector<int32_t>(8, 0));
  const Normalization raw{.mean = {0.0}, .stddev = {1.0 / 255.0}};  // pixel values as they are
  const Augment augment{.crop_padding = 2, .horizontal_flip = true, .seed = 5};
  tensor::Tensor a, b, c;
  std::vector<int32_t> labels;
  const std::vector<int64_t> all{0, 1, 2, 3, 4, 5, 6, 7};
  ds.gather(all, raw, augment, 3, a, labels);
  ds.gather(std::vector<int64_t>{5, 2}, raw, augment, 3, b, labels);  // another batch, same draws
  for (int64_t p = 0; p < 16; ++p) {
    EXPECT_EQ(b[p], a[5 * 16 + p]);
    EXPECT_EQ(b[16 + p], a[2 * 16 + p]);
  }
  ds.gather(all, raw, augment, 4, c, labels);  // another epoch: other draws
  bool differs = false, shifted = false;
  for (int64_t p = 0; p < a.numel(); ++p) differs = differs || a[p] != c[p];
  for (int64_t i = 0; i < 8; ++i) {
    // Every output value is black or a pixel of the image, and some are moved.
    for (int64_t p = 0; p < 16; ++p) {
      const float v = a[i * 16 + p];
      EXPECT_TRUE(v == 0.0f || (v >= 10.0f && v <= 43.0f)) << v;
      shifted = shifted || v != pixels[static_cast<size_t>(p)];
    }
  }
  EXPECT_TRUE(differs);
  EXPECT_TRUE(shifted);
}

// Cutout: after the crop and flip (which it leaves as they were), one square of the given side
// per example and epoch, centred on a random pixel and clipped at the borders, holds 0 after
// normalisation; the same draws in any batch.
TEST_F(DataTest, CutoutErasesOneClippedSquarePerExampleAndEpoch) {
  const int64_t n = 64, side = 3;
  std::vector<uint8_t> pixels(static_cast<size_t>(n * 8 * 8), 200);
  const Dataset ds("mem", 2, 8, 4, pixels, std::vector<int32_t>(static_cast<size_t>(n), 0));
  const Normalization norm{.mean = {0.5}, .stddev = {0.25}};  // 200 -> (0.784 - 0.5) / 0.25
  std::vector<int64_t> all(static_cast<size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  tensor::Tensor cut, plain, again, crop_only, crop_cut;
  std::vector<int32_t> labels;
  ds.gather(all, norm, Augment{.seed = 9, .cutout = side}, 2, cut, labels);
  ds.gather(all, norm, plain, labels);
  ds.gather(std::vector<int64_t>{7}, norm, Augment{.seed = 9, .cutout = side}, 2, again, labels);
  int clipped = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t y0 = 8, y1 = -1, x0 = 4, x1 = -1, zeros = 0;
    for (int64_t c = 0; c < 2; ++c) {
      for (int64_t y = 0; y < 8; ++y) {
        for (int64_t x = 0; x < 4; ++x) {
          const int64_t at = ((i * 2 + c) * 8 + y) * 4 + x;
          if (cut[at] == 0.0f) {
            ++zeros;
            y0 = std::min(y0, y), y1 = std::max(y1, y), x0 = std::min(x0, x), x1 = std::max(x1, x);
          } else {
            EXPECT_EQ(cut[at], plain[at]);
          }
        }
      }
    }
    // One rectangle in both channels, at most side x side, the full side unless clipped.
    ASSERT_GT(zeros, 0) << i;
    const int64_t h = y1 - y0 + 1, w = x1 - x0 + 1;
    EXPECT_EQ(zeros, 2 * h * w) << i;
    EXPECT_LE(h, side);
    EXPECT_LE(w, side);
    if (h < side || w < side) {
      ++clipped;
      EXPECT_TRUE(y0 == 0 || y1 == 7 || x0 == 0 || x1 == 3) << i;
    }
  }
  EXPECT_GT(clipped, 0);  // 64 draws on a 4-pixel-wide image: some reach a border
  for (int64_t p = 0; p < 64; ++p) EXPECT_EQ(again[p], cut[7 * 64 + p]);
  // With a crop and flip: the same crop and flip as without Cutout, then the square.
  ds.gather(all, norm, Augment{.crop_padding = 1, .horizontal_flip = true, .seed = 9}, 2, crop_only,
            labels);
  ds.gather(all, norm, Augment{.crop_padding = 1, .horizontal_flip = true, .seed = 9, .cutout = 2},
            2, crop_cut, labels);
  for (int64_t p = 0; p < crop_cut.numel(); ++p) {
    EXPECT_TRUE(crop_cut[p] == crop_only[p] || crop_cut[p] == 0.0f) << p;
  }
}

// Mixup and CutMix: each example's partner, weight and box are a function of (seed, epoch,
// example) — the same in any batch, at any position — and the pixels are the formula's: mixup
// lambda * own + (1 - lambda) * partner; CutMix the partner's box, lambda its complement's share.
TEST_F(DataTest, MixupAndCutMixFollowTheirDrawsInAnyBatch) {
  const int64_t n = 40, h = 6, w = 5;
  std::vector<uint8_t> pixels(static_cast<size_t>(n * h * w));
  std::vector<int32_t> labels_in(static_cast<size_t>(n));
  for (size_t p = 0; p < pixels.size(); ++p) pixels[p] = static_cast<uint8_t>((p * 37) % 251);
  for (size_t i = 0; i < labels_in.size(); ++i) labels_in[i] = static_cast<int32_t>(i % 10);
  const Dataset ds("mem", 1, h, w, pixels, labels_in);
  const Normalization norm{.mean = {0.5}, .stddev = {0.25}};
  std::vector<int64_t> all(static_cast<size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  tensor::Tensor plain, mixed_images, one;
  std::vector<int32_t> labels;
  ds.gather(all, norm, plain, labels);
  int cutmixes = 0, mixups = 0;
  for (const Mixing mixing : {Mixing{.mixup_alpha = 0.4}, Mixing{.cutmix_alpha = 1.0},
                              Mixing{.mixup_alpha = 0.4, .cutmix_alpha = 1.0}}) {
    const Augment augment{.seed = 11, .mixing = mixing};
    MixedLabels mixed;
    ds.gather(all, norm, augment, 3, mixed_images, labels, &mixed);
    ASSERT_EQ(mixed.lambda.size(), static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const MixDraw d = draw_mix(mixing, 11, 3, i, n, h, w);
      EXPECT_EQ(labels[static_cast<size_t>(i)], labels_in[static_cast<size_t>(i)]);
      EXPECT_EQ(mixed.other[static_cast<size_t>(i)], labels_in[static_cast<size_t>(d.partner)]);
      EXPECT_FLOAT_EQ(mixed.lambda[static_cast<size_t>(i)], static_cast<float>(d.lambda));
      EXPECT_GE(d.lambda, 0.0);
      EXPECT_LE(d.lambda, 1.0);
      int64_t inside = 0;
      for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) {
          const float own = plain[(i * h + y) * w + x], other = plain[(d.partner * h + y) * w + x];
          const float got = mixed_images[(i * h + y) * w + x];
          if (!d.cutmix) {
            EXPECT_NEAR(got, d.lambda * own + (1 - d.lambda) * other, 1e-5) << i;
            continue;
          }
          const bool in_box = y >= d.y0 && y < d.y1 && x >= d.x0 && x < d.x1;
          inside += in_box;
          EXPECT_EQ(got, in_box ? other : own) << i << " " << y << " " << x;
        }
      }
      if (d.cutmix) {
        EXPECT_NEAR(d.lambda, 1.0 - static_cast<double>(inside) / (h * w), 1e-12) << i;
      }
      (d.cutmix ? cutmixes : mixups) += 1;
    }
    // Example 13 alone, in a batch of its own: the same image and target.
    MixedLabels alone;
    ds.gather(std::vector<int64_t>{13}, norm, augment, 3, one, labels, &alone);
    for (int64_t p = 0; p < h * w; ++p) EXPECT_EQ(one[p], mixed_images[13 * h * w + p]);
    EXPECT_EQ(alone.lambda[0], mixed.lambda[13]);
    EXPECT_EQ(alone.other[0], mixed.other[13]);
    // Another epoch draws again; without `mixed` nothing mixes.
    EXPECT_NE(draw_mix(mixing, 11, 4, 13, n, h, w).lambda,
              draw_mix(mixing, 11, 3, 13, n, h, w).lambda);
    ds.gather(std::vector<int64_t>{13}, norm, augment, 3, one, labels);
    for (int64_t p = 0; p < h * w; ++p) EXPECT_EQ(one[p], plain[13 * h * w + p]);
  }
  EXPECT_GT(cutmixes, n + 5);  // all of the second pass, about half of the third
  EXPECT_GT(mixups, n + 5);
}

}  // namespace
}  // namespace tinycnn::data
