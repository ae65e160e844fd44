// CIFAR-10 binary batches.
#include "data/cifar10.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.hpp"
#include "core/file_kind.hpp"
#include "core/utf8.hpp"
#include "data/byte_source.hpp"

namespace tinycnn::data {

namespace {
// The class names of batches.meta.txt, one per line; none when there is no such file. A file
// that is there but cannot be read, or a name that is not UTF-8, is an error naming it.
std::vector<std::string> read_class_names(const std::string& dir) {
  const std::string path = dir + "/batches.meta.txt";
  const std::string kind = core::file_kind(path);
  if (kind == "nothing") return {};
  TCNN_CHECK_RUNTIME(kind.empty(), path, ": expected a text file of class names, got ", kind);
  errno = 0;
  std::ifstream in(path);
  TCNN_CHECK_RUNTIME(in.is_open(), path,
                     ": cannot open: ", errno ? std::strerror(errno) : "unknown error");
  std::vector<std::string> names;
  int64_t line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    const std::optional<size_t> bad = core::invalid_utf8_at(line);
    TCNN_CHECK_RUNTIME(!bad, path, ":", line_number, ": the class name ",
                       core::escape_invalid_utf8(line), " is not UTF-8 (byte ", bad.value_or(0),
                       "); class names are written as JSON text");
    if (!line.empty()) names.push_back(line);
  }
  TCNN_CHECK_RUNTIME(!in.bad(), path, ": read failed");
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
  const int64_t size = source->size().value_or(0);
  TCNN_CHECK_RUNTIME(size > 0 && size % kCifarRecordBytes == 0, path, ": ", size,
                     " bytes, expected a whole number of ", kCifarRecordBytes,
                     "-byte records (a label byte and a 3x32x32 image)");
  // Blocks of records, each checked and appended: the file is never held twice.
  constexpr int64_t kBlock = 1024;
  std::string block;
  pixels.reserve(pixels.size() +
                 static_cast<size_t>(size / kCifarRecordBytes * (kCifarRecordBytes - 1)));
  for (int64_t done = 0; done < size;) {
    const int64_t want = std::min(kBlock * kCifarRecordBytes, size - done);
    block.resize(static_cast<size_t>(want));
    const int64_t got = source->read(reinterpret_cast<uint8_t*>(block.data()), want);
    TCNN_CHECK_RUNTIME(got == want, path, ": read ", done + got, " of ", size, " bytes");
    const std::string where =
        path + " (from record " + std::to_string(done / kCifarRecordBytes) + ")";
    parse_cifar10_batch(block, where, num_classes, pixels, labels);
    done += want;
  }
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
  std::error_code ec;
  int64_t total = 0;
  for (const auto& f : files) total += static_cast<int64_t>(std::filesystem::file_size(f, ec));
  if (!ec) pixels.reserve(static_cast<size_t>(total / kCifarRecordBytes * (kCifarRecordBytes - 1)));
  for (const auto& f : files) read_cifar10_batch(f, num_classes, pixels, labels);
  std::vector<std::string> classes = read_class_names(dir);
  TCNN_CHECK_RUNTIME(classes.empty() || static_cast<int64_t>(classes.size()) == 10,
                     dir + "/batches.meta.txt", ": ", classes.size(), " class names, expected 10");
  const std::string source = train ? dir + "/data_batch_[1-5].bin" : files.front();
  return Dataset(source, 3, 32, 32, std::move(pixels), std::move(labels), std::move(classes));
}

}  // namespace tinycnn::data
