// Plain and gzip byte sources.
#include "data/byte_source.hpp"

#include <zlib.h>

#include <climits>
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

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

// gzip through zlib's inflate: members one after another (as gunzip reads them); anything
// after the last member that is not another member is an error, as is a stream cut short.
// (gzread would skip such trailing bytes without a word.)
class GzipSource : public ByteSource {
 public:
  explicit GzipSource(const std::string& path)
      : ByteSource(path), in_(path, std::ios::binary), input_(kChunk) {
    TCNN_CHECK_RUNTIME(in_.good(), path, ": cannot open for reading");
    TCNN_CHECK_RUNTIME(inflateInit2(&z_, 16 + MAX_WBITS) == Z_OK, path, ": zlib: cannot start");
  }
  ~GzipSource() override { inflateEnd(&z_); }
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;

  int64_t read(uint8_t* dst, int64_t n) override {
    int64_t done = 0;
    while (done < n && !finished_) {
      if (z_.avail_in == 0 && !refill()) {
        TCNN_CHECK_RUNTIME(between_members_, path(),
                           ": truncated gzip data (the stream ends "
                           "inside a member, after ",
                           consumed_, " compressed bytes)");
        finished_ = true;
        break;
      }
      if (between_members_) {
        start_member();
        continue;
      }
      const auto chunk = static_cast<uInt>(std::min<int64_t>(n - done, INT_MAX / 2));
      z_.next_out = dst + done;
      z_.avail_out = chunk;
      const int code = inflate(&z_, Z_NO_FLUSH);
      done += chunk - z_.avail_out;
      TCNN_CHECK_RUNTIME(code == Z_OK || code == Z_STREAM_END || code == Z_BUF_ERROR, path(),
                         ": corrupt gzip data: ", z_.msg ? z_.msg : "inflate failed");
      if (code == Z_STREAM_END) between_members_ = true;
    }
    return done;
  }
  std::optional<int64_t> size() const override { return std::nullopt; }

 private:
  static constexpr size_t kChunk = size_t{1} << 16;

  // More compressed bytes; false at the end of the file.
  bool refill() {
    in_.read(reinterpret_cast<char*>(input_.data()), static_cast<std::streamsize>(kChunk));
    TCNN_CHECK_RUNTIME(!in_.bad(), path(), ": read error");
    z_.next_in = input_.data();
    z_.avail_in = static_cast<uInt>(in_.gcount());
    consumed_ += in_.gcount();
    return z_.avail_in > 0;
  }
  // After a member's end, with input left: it must be another member (1f 8b ...).
  void start_member() {
    if (z_.avail_in < 2 && !top_up()) {
      TCNN_CHECK_RUNTIME(false, path(), ": trailing bytes after the gzip data (", z_.avail_in,
                         " byte(s) that are not a gzip member)");
    }
    TCNN_CHECK_RUNTIME(z_.next_in[0] == 0x1f && z_.next_in[1] == 0x8b, path(),
                       ": trailing bytes after the gzip data (expected the end of the file or "
                       "another gzip member)");
    TCNN_CHECK_RUNTIME(inflateReset(&z_) == Z_OK, path(), ": zlib: cannot reset");
    between_members_ = false;
  }
  // One byte left in the buffer: move it to the front and read more behind it.
  bool top_up() {
    const uint8_t kept = z_.avail_in ? z_.next_in[0] : 0;
    const uInt had = z_.avail_in;
    in_.read(reinterpret_cast<char*>(input_.data() + had),
             static_cast<std::streamsize>(kChunk - had));
    TCNN_CHECK_RUNTIME(!in_.bad(), path(), ": read error");
    if (had) input_[0] = kept;
    z_.next_in = input_.data();
    z_.avail_in = had + static_cast<uInt>(in_.gcount());
    consumed_ += in_.gcount();
    return z_.avail_in >= 2;
  }

  std::ifstream in_;
  std::vector<uint8_t> input_;
  z_stream z_{};
  bool between_members_ = false, finished_ = false;
  int64_t consumed_ = 0;
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
