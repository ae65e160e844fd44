// io: safetensors round trip and rejection of malformed files; atomic replace and its
// temporaries; SVG charts of any values.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "io/safetensors.hpp"
#include "io/svg_chart.hpp"
#include "support/idx_writer.hpp"

namespace tinycnn::io {
namespace {

using tensor::Tensor;

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tinycnn-io-" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // A file with the given JSON header text and `data_bytes` zero bytes of data.
  std::string raw(const std::string& name, const std::string& header, size_t data_bytes) {
    std::string bytes(8, '\0');
    const uint64_t n = header.size();
    std::memcpy(bytes.data(), &n, 8);
    bytes += header + std::string(data_bytes, '\0');
    testing::write_file(path(name), bytes);
    return path(name);
  }
  void expect_refused(const std::string& file, const std::string& what) {
    try {
      read_safetensors(file);
      FAIL() << "accepted: " << what;
    } catch (const core::Error& e) {
      EXPECT_EQ(e.kind(), core::ErrorKind::Runtime);
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
    }
  }
  std::filesystem::path dir_;
};

TEST_F(SafetensorsTest, RoundTripWithMetadata) {
  const Tensor a = Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor b = Tensor::from_vector({1}, {-7.5f});
  write_safetensors(path("x.safetensors"), {{"layers.0.weight", a}, {"layers.0.bias", b}},
                    {{"format", "tinycnn-checkpoint-1"}, {"epoch", "3"}});
  const SafetensorsFile f = read_safetensors(path("x.safetensors"));
  ASSERT_EQ(f.tensors.size(), 2u);
  ASSERT_NE(f.find("layers.0.weight"), nullptr);
  EXPECT_EQ(f.find("layers.0.weight")->to_vector(), a.to_vector());
  EXPECT_EQ(f.find("layers.0.weight")->shape(), a.shape());
  EXPECT_EQ(f.find("layers.0.bias")->to_vector(), b.to_vector());
  EXPECT_EQ(f.metadata.at("epoch"), "3");
  // Data starts 8-byte aligned, as the format recommends.
  std::ifstream in(path("x.safetensors"), std::ios::binary);
  uint64_t header_len = 0;
  in.read(reinterpret_cast<char*>(&header_len), 8);
  EXPECT_EQ(header_len % 8, 0u);
  // No temporary file is left behind.
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) ++files;
  EXPECT_EQ(files, 1);
}

TEST_F(SafetensorsTest, I64TensorsRoundTripBesideF32Ones) {
  const std::string file = path("ints.safetensors");
  io::write_safetensors(file, {{"a", tensor::Tensor::full({2}, 1.5f)}}, {},
                        {{"count", {}, {123456789012345}}, {"pair", {2}, {-1, 7}}});
  const io::SafetensorsFile read = io::read_safetensors(file);
  ASSERT_EQ(read.ints.size(), 2u);
  const io::NamedInts* count = read.find_ints("count");
  ASSERT_NE(count, nullptr);
  EXPECT_TRUE(count->dims.empty());
  EXPECT_EQ(count->values, std::vector<int64_t>{123456789012345});
  EXPECT_EQ(read.find_ints("pair")->values, (std::vector<int64_t>{-1, 7}));
  EXPECT_EQ(read.find("a")->to_vector(), (std::vector<float>{1.5f, 1.5f}));
  EXPECT_EQ(read.find("count"), nullptr);  // not an F32 tensor
}

// I32 and I8 (an int8 model's biases and weights): narrow little-endian bytes, widened on
// reading with their signs; a value that does not fit its type is refused when writing.
TEST_F(SafetensorsTest, I32AndI8TensorsRoundTripNarrow) {
  const std::string file = path("narrow.safetensors");
  io::write_safetensors(file, {}, {},
                        {{"w", {2, 2}, {-128, 127, -1, 0}, io::IntType::I8},
                         {"b", {3}, {-2147483648LL, 2147483647LL, -5}, io::IntType::I32}});
  const io::SafetensorsFile read = io::read_safetensors(file);
  EXPECT_EQ(read.find_ints("w")->values, (std::vector<int64_t>{-128, 127, -1, 0}));
  EXPECT_EQ(read.find_ints("w")->type, io::IntType::I8);
  EXPECT_EQ(read.find_ints("b")->values, (std::vector<int64_t>{-2147483648LL, 2147483647LL, -5}));
  EXPECT_EQ(read.find_ints("b")->type, io::IntType::I32);
  EXPECT_THROW(io::write_safetensors(file, {}, {}, {{"w", {1}, {128}, io::IntType::I8}}),
               core::Error);
}

TEST_F(SafetensorsTest, RefusesMalformedFiles) {
  testing::write_file(path("short"), "abc");
  expect_refused(path("short"), "truncated");
  EXPECT_TRUE(read_safetensors(raw("empty", "{}", 0)).tensors.empty());  // valid, no tensors
  std::string bytes(8, '\0');
  const uint64_t huge = 1000;
  std::memcpy(bytes.data(), &huge, 8);
  testing::write_file(path("header_too_long"), bytes + "{}");
  expect_refused(path("header_too_long"), "does not fit in the file");
  expect_refused(raw("not_json", "{nope", 0), "header: not valid JSON");
  expect_refused(
      raw("duplicate",
          R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
          8),
      "key \"w\" appears twice");
  expect_refused(raw("deep", std::string(100, '[') + std::string(100, ']'), 0),
                 "nested deeper than 64 levels");
  expect_refused(raw("array", "[1]", 0), "header must be a JSON object");
  expect_refused(raw("dtype", R"({"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", 4),
                 "expected dtype F32");
  expect_refused(raw("range", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4),
                 "outside the data");
  expect_refused(raw("span", R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
                 "shape needs 12");
  expect_refused(
      raw("overlap",
          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
          12),
      "overlap");
  expect_refused(raw("negative", R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4),
                 "bad shape");
  expect_refused(
      raw("huge_shape",
          R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4),
      "larger than the file");
  expect_refused(raw("meta", R"({"__metadata__":{"epoch":3}})", 0),
                 "__metadata__.epoch must be a string");
  expect_refused(raw("fields", R"({"w":{"dtype":"F32"}})", 0),
                 "expected dtype, shape and data_offsets");
  expect_refused(path("missing"), "no such file");
}

TEST_F(SafetensorsTest, AtomicReplaceKeepsOneCompleteFile) {
  write_file_atomically(path("f"), "old");
  write_file_atomically(path("f"), "new contents");
  std::ifstream in(path("f"));
  std::string s((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(s, "new contents");
  EXPECT_THROW(write_file_atomically(path("no/such/dir/f"), "x"), core::Error);
}

TEST_F(SafetensorsTest, AnEmptyTensorOverlapsNothing) {
  // [0, 0] beside [0, 16] and [16, 16]: the layout allows zero-length tensors anywhere.
  const std::string file = raw("empty",
                               R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)"
                               R"("b":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                               R"("c":{"dtype":"F32","shape":[2,0],"data_offsets":[16,16]}})",
                               16);
  const SafetensorsFile f = read_safetensors(file);
  ASSERT_EQ(f.tensors.size(), 3u);
  EXPECT_EQ(f.find("a")->numel(), 0);
  EXPECT_EQ(f.find("b")->numel(), 4);
  expect_refused(raw("overlap",
                     R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                     R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                     12),
                 "overlap");
}

TEST_F(SafetensorsTest, OnlyDeadProcessesTemporariesAreStale) {
  testing::write_file(path(".f.tinycnn-tmp-999999999"), "dead");
  testing::write_file(path(".f.tinycnn-tmp-" + std::to_string(::getpid())), "alive");
  testing::write_file(path("thesis.tmp-2024"), "a user's");
  testing::write_file(path("f.tinycnn-tmp-999999999"), "not hidden: not ours");
  EXPECT_EQ(remove_stale_temporaries(dir_.string()), 1);
  EXPECT_FALSE(std::filesystem::exists(path(".f.tinycnn-tmp-999999999")));
  EXPECT_TRUE(std::filesystem::exists(path(".f.tinycnn-tmp-" + std::to_string(::getpid()))));
  EXPECT_TRUE(std::filesystem::exists(path("thesis.tmp-2024")));
  EXPECT_TRUE(std::filesystem::exists(path("f.tinycnn-tmp-999999999")));
  EXPECT_EQ(temporary_path(path("f")), path(".f.tinycnn-tmp-" + std::to_string(::getpid())));
}

// Log-log axes put decades at equal distances; a scatter series draws markers and no path;
// each point's note is its tooltip (escaped); a legend beside the plot widens the picture.
TEST(SvgChart, LogLogScatterWithMarkersAndNotes) {
  ChartSeries line{"roof", {{0.1, 1}, {10, 100}}, true, 0};
  line.marker = Marker::None;
  ChartSeries dots{"points", {{1, 10}, {100, 1000}}, false, 1};
  dots.line = false;
  dots.marker = Marker::Triangle;
  dots.notes = {"conv <a>", "bn"};
  ChartPanel panel{"p", "intensity", "GFLOP/s", true, {line, dots}};
  panel.log_x = true;
  const std::string svg = render_svg_chart("t", {panel});
  for (const char* tick : {">0.1<", ">1<", ">10<", ">100<", ">1000<"}) {
    EXPECT_NE(svg.find(tick), std::string::npos) << tick;
  }
  EXPECT_NE(svg.find("<title>conv &lt;a&gt;</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>bn</title>"), std::string::npos);
  // Paths: the roof's line and the triangles (2 points + 1 in the legend); no line for dots.
  EXPECT_EQ(std::count(svg.begin(), svg.end(), 'Z'), 3);
  // x: decades 0.1 .. 100 over the plot's 420 px, equal steps: 0.1 at 80, 1 at 220, 10 at 360.
  EXPECT_NE(svg.find("M80 "), std::string::npos) << svg;       // the roof starts at 0.1
  EXPECT_NE(svg.find(" L360 "), std::string::npos) << svg;     // and ends at 10
  EXPECT_NE(svg.find("d=\"M220 "), std::string::npos) << svg;  // the triangle at x = 1
  const std::string narrow = render_svg_chart("t", {panel});
  panel.legend_outside = true;
  const std::string wide = render_svg_chart("t", {panel});
  EXPECT_NE(narrow.find("width=\"520\""), std::string::npos);
  EXPECT_EQ(wide.find("width=\"520\""), std::string::npos);
}

TEST(SvgChart, AnyValuesGiveAFiniteChart) {
  // Huge, nearly equal, non-finite and log-scale non-positive values: no crash, no endless tick
  // loop, and no NaN or Inf in the drawing.
  const double inf = std::numeric_limits<double>::infinity();
  for (const auto& points :
       std::vector<std::vector<std::pair<double, double>>>{{{1, 1e308}, {2, 1e308}},
                                                           {{1, 1e15}, {2, 1e15 + 0.16}},
                                                           {{1, inf}, {2, std::nan("")}, {3, 5}},
                                                           {{1e300, 1}, {1e300, 2}},
                                                           {}}) {
    for (bool log_y : {false, true}) {
      const std::string svg = render_svg_chart(
          "t", {{"p", "x", "y", log_y, {{"s", points, false, 0}, {"t", {{1, -1}}, true, 1}}}});
      EXPECT_NE(svg.find("</svg>"), std::string::npos);
      EXPECT_EQ(svg.find("nan"), std::string::npos) << svg;
      EXPECT_EQ(svg.find("inf"), std::string::npos) << svg;
    }
  }
}

}  // namespace
}  // namespace tinycnn::io
