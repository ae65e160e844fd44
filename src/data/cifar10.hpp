// CIFAR-10, binary version: data_batch_1.bin ... data_batch_5.bin (training) and test_batch.bin,
// each a sequence of 3,073-byte records — one label byte (0-9), then 1,024 red, 1,024 green and
// 1,024 blue bytes of a 32 x 32 image, row-major (a record is already CHW). Class names from
// batches.meta.txt when present (one per line, blank lines ignored). Every file is checked
// (size a whole number of records, labels below the model's outputs) and named on error.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace tinycnn::data {

inline constexpr int64_t kCifarRecordBytes = 3073;

// The training batches (train) or the test batch of `dir`.
Dataset read_cifar10_split(const std::string& dir, bool train, int64_t num_classes);

// One batch file's records, appended to pixels and labels.
void read_cifar10_batch(const std::string& path, int64_t num_classes, std::vector<uint8_t>& pixels,
                        std::vector<int32_t>& labels);

// The records of a batch file already in memory; `what` names it in errors.
void parse_cifar10_batch(const std::string& bytes, const std::string& what, int64_t num_classes,
                         std::vector<uint8_t>& pixels, std::vector<int32_t>& labels);

}  // namespace tinycnn::data
