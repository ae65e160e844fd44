// CIFAR-10 binary batches.
#include "data/cifar10.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.hpp"
#include "data/byte_source.hpp"

namespace tinycnn::data {

namespace {
std::vector<std::string> read_class_names(const std::string& dir) {
  std::vector<std::string> names;
  std::ifstream in(dir + "/batches.meta.txt");
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  return names;
}
}  // namespace

void parse_cifar10_batch(const std::string& bytes, const std::string& what, int64_t num_classes,
                         std::vector<uint8_t>& pixels, std::vector<int32_t>& labels) {
  const auto size = static_cast<int64_t>(bytes.size());
  TCNN_CHECK_RUNTIME(size > 0 && size % kCifarRecordBytes == 0, what, ": ", size,
                     " bytes, expected a whole number of ", kCifarRecordBytes,
                     "-byte records (a label byte and a 3x32x32 image)");
  const int64_t records = size / kCifarRecordBytes;
  for (int64_t r = 0; r < records; ++r) {
    const auto* record = reinterpret_cast<const uint8_t*>(bytes.data()) + r * kCifarRecordBytes;
    TCNN_CHECK_RUNTIME(record[0] < 10 && record[0] < num_classes, what, ": record ", r,
                       " has label ", int{record[0]}, ", expected 0..",
                       std::min<int64_t>(num_classes, 10) - 1);
    labels.push_back(record[0]);
    pixels.insert(pixels.end(), record + 1, record + kCifarRecordBytes);
  }
}

void read_cifar10_batch(const std::string& path, int64_t num_classes, std::vector<uint8_t>& pixels,
                        std::vector<int32_t>& labels) {
  const auto source = ByteSource::open(path);
  std::string bytes(static_cast<size_t>(source->size().value_or(0)), '\0');
  const int64_t got =
      source->read(reinterpret_cast<uint8_t*>(bytes.data()), static_cast<int64_t>(bytes.size()));
  TCNN_CHECK_RUNTIME(got == static_cast<int64_t>(bytes.size()), path, ": read ", got, " of ",
                     bytes.size(), " bytes");
  parse_cifar10_batch(bytes, path, num_classes, pixels, labels);
}

Dataset read_cifar10_split(const std::string& dir, bool train, int64_t num_classes) {
  std::vector<std::string> files;
  if (train) {
    for (int i = 1; i <= 5; ++i) files.push_back(dir + "/data_batch_" + std::to_string(i) + ".bin");
  } else {
    files.push_back(dir + "/test_batch.bin");
  }
  std::vector<uint8_t> pixels;
  std::vector<int32_t> labels;
  for (const auto& f : files) read_cifar10_batch(f, num_classes, pixels, labels);
  std::vector<std::string> classes = read_class_names(dir);
  TCNN_CHECK_RUNTIME(classes.empty() || static_cast<int64_t>(classes.size()) == 10,
                     dir + "/batches.meta.txt", ": ", classes.size(), " class names, expected 10");
  const std::string source = train ? dir + "/data_batch_[1-5].bin" : files.front();
  return Dataset(source, 3, 32, 32, std::move(pixels), std::move(labels), std::move(classes));
}

}  // namespace tinycnn::data
