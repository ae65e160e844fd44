// Plain and gzip byte sources.
#include "data/byte_source.hpp"

#include <zlib.h>

#include <climits>
#include <filesystem>
#include <fstream>
#include <utility>

#include "core/error.hpp"

namespace tinycnn::data {

namespace {
class PlainSource : public ByteSource {
 public:
  explicit PlainSource(const std::string& path) : ByteSource(path), in_(path, std::ios::binary) {
    std::error_code ec;
    size_ = static_cast<int64_t>(std::filesystem::file_size(path, ec));
    TCNN_CHECK_RUNTIME(!ec && in_.good(), path, ": cannot open for reading");
  }
  int64_t read(uint8_t* dst, int64_t n) override {
    in_.read(reinterpret_cast<char*>(dst), n);
    TCNN_CHECK_RUNTIME(!in_.bad(), path(), ": read error");
    return static_cast<int64_t>(in_.gcount());
  }
  std::optional<int64_t> size() const override { return size_; }

 private:
  std::ifstream in_;
  int64_t size_ = 0;
};

class GzipSource : public ByteSource {
 public:
  explicit GzipSource(const std::string& path) : ByteSource(path), gz_(gzopen(path.c_str(), "rb")) {
    TCNN_CHECK_RUNTIME(gz_ != nullptr, path, ": cannot open for reading");
  }
  ~GzipSource() override { gzclose(gz_); }
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;

  int64_t read(uint8_t* dst, int64_t n) override {
    int64_t done = 0;
    while (done < n) {
      const auto chunk = static_cast<unsigned>(std::min<int64_t>(n - done, INT_MAX / 2));
      const int got = gzread(gz_, dst + done, chunk);
      if (got < 0) {
        int code = 0;
        const char* message = gzerror(gz_, &code);
        TCNN_CHECK_RUNTIME(false, path(), ": corrupt gzip data: ", message ? message : "?");
      }
      if (got == 0) {
        // gzread reports a truncated stream as end of file; gzerror tells the two apart.
        int code = 0;
        const char* message = gzerror(gz_, &code);
        TCNN_CHECK_RUNTIME(code == Z_OK || code == Z_STREAM_END, path(),
                           ": truncated or corrupt gzip data: ", message ? message : "?");
        break;
      }
      done += got;
    }
    return done;
  }
  std::optional<int64_t> size() const override { return std::nullopt; }

 private:
  gzFile gz_;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

std::unique_ptr<ByteSource> ByteSource::open(const std::string& path) {
  std::error_code ec;
  TCNN_CHECK_RUNTIME(std::filesystem::is_regular_file(path, ec), path, ": no such file");
  if (ends_with(path, ".gz")) return std::make_unique<GzipSource>(path);
  return std::make_unique<PlainSource>(path);
}

std::string find_data_file(const std::string& dir, const std::string& name) {
  std::string plain = dir + "/" + name;
  std::error_code ec;
  if (std::filesystem::is_regular_file(plain, ec)) return plain;
  if (std::filesystem::is_regular_file(plain + ".gz", ec)) return plain + ".gz";
  TCNN_CHECK_RUNTIME(false, plain, ": no such file (nor ", name,
                     ".gz; data/fetch_mnist.sh fetches MNIST; training.data_dir names the folder)");
  return plain;
}

}  // namespace tinycnn::data
