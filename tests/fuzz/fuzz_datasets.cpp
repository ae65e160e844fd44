// libFuzzer target: arbitrary bytes as the data set readers' files — a gzip IDX image file, a
// CIFAR-10 batch, and an image file in an image folder (decoded by stb_image, resized). The
// readers take paths, so the input goes through per-process temporary files.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "data/cifar10.hpp"
#include "data/idx.hpp"
#include "data/image_folder.hpp"

namespace {
void write(const std::string& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string root = "/tmp/tinycnn-fuzz-data-" + std::to_string(::getpid());
  static const bool made = [] {
    std::filesystem::create_directories(root + "/folder/train/a");
    std::filesystem::create_directories(root + "/folder/test/a");
    return true;
  }();
  (void)made;
  write(root + "/images.gz", data, size);
  try {
    (void)tinycnn::data::read_idx_images(root + "/images.gz");
  } catch (const tinycnn::core::Error&) {
  }
  try {
    std::vector<uint8_t> pixels;
    std::vector<int32_t> labels;
    tinycnn::data::parse_cifar10_batch(std::string(reinterpret_cast<const char*>(data), size),
                                       "fuzz", 10, pixels, labels);
  } catch (const tinycnn::core::Error&) {
  }
  write(root + "/folder/train/a/x.png", data, size);
  write(root + "/folder/test/a/x.png", data, size);
  try {
    (void)tinycnn::data::read_image_folder(
        root + "/folder", "test",
        {.channels = 3, .height = 8, .width = 8, .resize = true, .num_classes = 1});
  } catch (const tinycnn::core::Error&) {
  }
  return 0;
}
