// Tiny IDX writer.
#include "support/idx_writer.hpp"

#include <fstream>

namespace tinycnn::testing {

std::string idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims,
                      const std::vector<uint8_t>& payload) {
  std::string out;
  auto put = [&out](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((v >> shift) & 0xff));
  };
  put(magic);
  for (uint32_t d : dims) put(d);
  out.append(payload.begin(), payload.end());
  return out;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

void write_mnist_split(const std::string& dir, const std::string& split, uint32_t count, uint32_t h,
                       uint32_t w, uint32_t classes) {
  std::vector<uint8_t> pixels(static_cast<size_t>(count) * h * w), labels(count);
  for (uint32_t i = 0; i < count; ++i) {
    labels[i] = static_cast<uint8_t>(i % classes);
    for (uint32_t p = 0; p < h * w; ++p)
      pixels[static_cast<size_t>(i) * h * w + p] = static_cast<uint8_t>((i * 7 + p) % 256);
  }
  write_file(dir + "/" + split + "-images-idx3-ubyte", idx_bytes(2051, {count, h, w}, pixels));
  write_file(dir + "/" + split + "-labels-idx1-ubyte", idx_bytes(2049, {count}, labels));
}

}  // namespace tinycnn::testing
