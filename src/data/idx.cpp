// IDX reader: validate the header against the file size, then read the payload (plain or gzip).
#include "data/idx.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

#include "core/error.hpp"
#include "data/byte_source.hpp"

namespace tinycnn::data {

namespace {
constexpr uint32_t kImagesMagic = 2051;
constexpr uint32_t kLabelsMagic = 2049;

class IdxFile {
 public:
  explicit IdxFile(const std::string& path) : source_(ByteSource::open(path)) {}

  uint32_t read_u32(const char* field) {
    unsigned char b[4];
    TCNN_CHECK_RUNTIME(source_->read(b, 4) == 4, path(), ": truncated header: cannot read the ",
                       field, size_text());
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  }

  // The file must hold exactly header + count * item_bytes bytes. Compared by division, so
  // header dimensions near 2^32 cannot overflow the product. A compressed file's size is known
  // only once it is read: read_payload checks it then.
  void expect_size(int64_t header, int64_t count, int64_t item_bytes) {
    const std::optional<int64_t> size = source_->size();
    if (!size) return;
    const int64_t available = *size - header;
    const bool exact =
        available >= 0 && available % item_bytes == 0 && available / item_bytes == count;
    if (exact) return;
    const bool too_short = available < 0 || available / item_bytes < count;
    TCNN_CHECK_RUNTIME(false, path(), ": its header announces ", count, " item(s) of ", item_bytes,
                       " byte(s) after a ", header, "-byte header, but the file is ", *size,
                       " bytes", too_short ? " (truncated)" : " (trailing bytes)");
  }

  // Exactly `bytes` bytes, then the end of the file. Read in chunks into a growing buffer, so a
  // compressed file whose header lies costs only what really decompresses.
  std::vector<uint8_t> read_payload(int64_t bytes) {
    constexpr int64_t kChunk = int64_t{16} << 20;
    std::vector<uint8_t> data;
    // A plain file's size is checked already: hold the payload once, without regrowing. A
    // compressed one reserves at most a few chunks ahead of what really decompresses.
    data.reserve(static_cast<size_t>(source_->size() ? bytes : std::min(bytes, 4 * kChunk)));
    int64_t done = 0;
    while (done < bytes) {
      const int64_t want = std::min(kChunk, bytes - done);
      data.resize(static_cast<size_t>(done + want));
      const int64_t got = source_->read(data.data() + done, want);
      done += got;
      TCNN_CHECK_RUNTIME(got == want, path(), ": truncated: the header announces ", bytes,
                         " payload bytes, the file holds ", done);
    }
    uint8_t extra = 0;
    TCNN_CHECK_RUNTIME(source_->read(&extra, 1) == 0, path(),
                       ": trailing bytes after the header's ", bytes, " payload bytes");
    return data;
  }

  const std::string& path() const { return source_->path(); }

 private:
  std::string size_text() const {
    const std::optional<int64_t> size = source_->size();
    return size ? " (file is " + std::to_string(*size) + " bytes)" : std::string();
  }
  std::unique_ptr<ByteSource> source_;
};
}  // namespace

IdxImages read_idx_images(const std::string& path) {
  IdxFile file(path);
  const uint32_t magic = file.read_u32("magic number");
  TCNN_CHECK_RUNTIME(magic == kImagesMagic, path, ": expected IDX image magic ", kImagesMagic,
                     " (0x00000803), got ", magic, magic == kLabelsMagic ? " (a label file?)" : "");
  IdxImages images;
  images.count = file.read_u32("image count");
  images.rows = file.read_u32("row count");
  images.cols = file.read_u32("column count");
  TCNN_CHECK_RUNTIME(
      images.rows > 0 && images.cols > 0 && images.rows <= 65536 && images.cols <= 65536, path,
      ": expected image dimensions in 1..65536, got ", images.rows, "x", images.cols);
  file.expect_size(16, images.count, images.rows * images.cols);  // rows * cols <= 2^32
  images.pixels = file.read_payload(images.count * images.rows * images.cols);
  return images;
}

IdxLabels read_idx_labels(const std::string& path, int64_t num_classes) {
  IdxFile file(path);
  const uint32_t magic = file.read_u32("magic number");
  TCNN_CHECK_RUNTIME(magic == kLabelsMagic, path, ": expected IDX label magic ", kLabelsMagic,
                     " (0x00000801), got ", magic,
                     magic == kImagesMagic ? " (an image file?)" : "");
  const int64_t count = file.read_u32("label count");
  file.expect_size(8, count, 1);
  IdxLabels labels{file.read_payload(count)};
  for (int64_t i = 0; i < count; ++i) {
    TCNN_CHECK_RUNTIME(labels.labels[static_cast<size_t>(i)] < num_classes, path, ": label ", i,
                       " is ", int{labels.labels[static_cast<size_t>(i)]}, ", expected 0..",
                       num_classes - 1);
  }
  return labels;
}

Dataset read_idx_split(const std::string& dir, const std::string& split, int64_t num_classes) {
  TCNN_CHECK(split == "train" || split == "t10k", "IDX split: expected train or t10k, got ", split);
  const std::string images_path = find_data_file(dir, split + "-images-idx3-ubyte");
  const std::string labels_path = find_data_file(dir, split + "-labels-idx1-ubyte");
  IdxImages images = read_idx_images(images_path);
  IdxLabels labels = read_idx_labels(labels_path, num_classes);
  TCNN_CHECK_RUNTIME(static_cast<int64_t>(labels.labels.size()) == images.count, labels_path,
                     ": has ", labels.labels.size(), " labels, but ", images_path, " has ",
                     images.count, " images");
  TCNN_CHECK_RUNTIME(images.count > 0, images_path, ": holds no images");
  std::vector<int32_t> wide(labels.labels.begin(), labels.labels.end());
  return Dataset(images_path, 1, images.rows, images.cols, std::move(images.pixels),
                 std::move(wide));
}

}  // namespace tinycnn::data
