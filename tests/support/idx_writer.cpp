// Tiny IDX writer.
#include "support/idx_writer.hpp"

#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

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

std::string gzip_bytes(const std::string& bytes) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer around the deflate stream.
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out(deflateBound(&z, static_cast<uLong>(bytes.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return out;
}

std::string cifar_batch_bytes(uint32_t count, bool red) {
  std::string bytes;
  for (uint32_t i = 0; i < count; ++i) {
    bytes.push_back(static_cast<char>(i % 10));
    for (uint32_t c = 0; c < 3; ++c) {
      for (uint32_t p = 0; p < 1024; ++p) {
        const uint32_t v = red ? (c == 0 ? 255 : 0) : (i * 3 + c * 5 + p) % 256;
        bytes.push_back(static_cast<char>(v));
      }
    }
  }
  return bytes;
}

void write_cifar10(const std::string& dir, uint32_t per_batch, uint32_t test) {
  std::filesystem::create_directories(dir);
  for (int b = 1; b <= 5; ++b) {
    write_file(dir + "/data_batch_" + std::to_string(b) + ".bin", cifar_batch_bytes(per_batch));
  }
  write_file(dir + "/test_batch.bin", cifar_batch_bytes(test));
}

}  // namespace tinycnn::testing
