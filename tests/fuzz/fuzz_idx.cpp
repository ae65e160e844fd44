// libFuzzer target: arbitrary bytes as an IDX image file and as an IDX label file (the reader
// takes paths, so the input goes through a per-process temporary file).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "core/error.hpp"
#include "data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/tinycnn-fuzz-idx-" + std::to_string(::getpid());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    (void)tinycnn::data::read_idx_images(path);
  } catch (const tinycnn::core::Error&) {
  }
  try {
    (void)tinycnn::data::read_idx_labels(path, 10);
  } catch (const tinycnn::core::Error&) {
  }
  return 0;
}
