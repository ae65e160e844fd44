// Writes small IDX files for tests (no network, no real MNIST needed).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tinycnn::testing {

// Raw bytes of an IDX file: big-endian u32 magic and dims, then the payload.
std::string idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims,
                      const std::vector<uint8_t>& payload);
void write_file(const std::string& path, const std::string& bytes);

// A complete synthetic MNIST split in `dir`: `count` images of h x w, labels i % classes,
// pixel (i, p) = (i * 7 + p) % 256.
void write_mnist_split(const std::string& dir, const std::string& split, uint32_t count,
                       uint32_t h = 28, uint32_t w = 28, uint32_t classes = 10);

}  // namespace tinycnn::testing
