// IDX files (the MNIST / Fashion-MNIST format): big-endian header, then unsigned bytes.
// Images: magic 2051, count, rows, cols, then count*rows*cols pixels. Labels: magic 2049,
// count, then count labels. Everything is checked (magic, dimensions, exact file size) before
// anything is allocated, and errors name the file (ErrorKind::Runtime: exit code 1). A path
// ending in ".gz" is read through gzip (data/byte_source.hpp) and checked as it decompresses.
// The data stays as bytes: 47 MB for MNIST's training images rather than 188 MB of floats.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace tinycnn::data {

struct IdxImages {
  int64_t count = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols, row-major
};

struct IdxLabels {
  std::vector<uint8_t> labels;
};

IdxImages read_idx_images(const std::string& path);
// Labels must be below `num_classes`.
IdxLabels read_idx_labels(const std::string& path, int64_t num_classes = 10);

// The split ("train" or "t10k") in `dir`: <split>-images-idx3-ubyte and
// <split>-labels-idx1-ubyte, each plain or with ".gz"; counts must agree. One channel.
Dataset read_idx_split(const std::string& dir, const std::string& split, int64_t num_classes);

}  // namespace tinycnn::data
