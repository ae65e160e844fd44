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

// `bytes` gzip-compressed (zlib), as a .gz file holds them.
std::string gzip_bytes(const std::string& bytes);

// A CIFAR-10 batch file's bytes: `count` records, label i % 10, image pixels (i * 3 + c * 5 + p)
// % 256 for channel c and pixel p, or all of channel 0 at 255 and the rest 0 when `red`.
std::string cifar_batch_bytes(uint32_t count, bool red = false);
// A CIFAR-10 folder in `dir`: data_batch_1..5.bin of `per_batch` records, test_batch.bin of
// `test` records.
void write_cifar10(const std::string& dir, uint32_t per_batch, uint32_t test);

}  // namespace tinycnn::testing
