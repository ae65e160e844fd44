// Bytes of a data file, read in order: a plain file, or a gzip-compressed one (".gz", zlib),
// decompressed as it is read so that nothing beyond what the reader asks for is inflated (a
// gzip "bomb" costs only what its header-announced payload allows). Errors name the file.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace tinycnn::data {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Up to n bytes into dst; fewer only at the end. Throws core::Error (Runtime) for a read error
  // or corrupt compressed data.
  virtual int64_t read(uint8_t* dst, int64_t n) = 0;
  // The byte count where it is known before reading (plain files).
  virtual std::optional<int64_t> size() const = 0;
  const std::string& path() const { return path_; }

  // `path` as it is, or decompressed when it ends in ".gz". Throws core::Error (Runtime) when it
  // cannot be opened.
  static std::unique_ptr<ByteSource> open(const std::string& path);

 protected:
  explicit ByteSource(std::string path) : path_(std::move(path)) {}

 private:
  std::string path_;
};

// `dir/name`, or `dir/name.gz` where only that exists; throws core::Error (Runtime) naming both
// when neither does.
std::string find_data_file(const std::string& dir, const std::string& name);

}  // namespace tinycnn::data
