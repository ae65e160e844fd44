// IDX reader: validate the header against the file size, then read the payload in one go.
#include "data/idx.hpp"

#include <filesystem>
#include <fstream>

#include "core/error.hpp"

namespace tinycnn::data {

namespace {
constexpr uint32_t kImagesMagic = 2051;
constexpr uint32_t kLabelsMagic = 2049;

class IdxFile {
 public:
  explicit IdxFile(const std::string& path) : path_(path) {
    std::error_code ec;
    TCNN_CHECK_RUNTIME(
        std::filesystem::is_regular_file(path, ec), path,
        ": no such file (data/fetch_mnist.sh fetches MNIST; training.data_dir names the folder)");
    size_ = static_cast<int64_t>(std::filesystem::file_size(path, ec));
    TCNN_CHECK_RUNTIME(!ec, path, ": cannot read its size");
    in_.open(path, std::ios::binary);
    TCNN_CHECK_RUNTIME(in_.good(), path, ": cannot open for reading");
  }

  int64_t size() const { return size_; }

  uint32_t read_u32(const char* field) {
    unsigned char b[4];
    in_.read(reinterpret_cast<char*>(b), 4);
    TCNN_CHECK_RUNTIME(in_.gcount() == 4, path_, ": truncated header: cannot read the ", field,
                       " (file is ", size_, " bytes)");
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  }

  // The file must hold exactly header + count * item_bytes bytes. Compared by division, so
  // header dimensions near 2^32 cannot overflow the product.
  void expect_size(int64_t header, int64_t count, int64_t item_bytes) {
    const int64_t available = size_ - header;
    const bool exact =
        available >= 0 && available % item_bytes == 0 && available / item_bytes == count;
    if (exact) return;
    const bool too_short = available < 0 || available / item_bytes < count;
    TCNN_CHECK_RUNTIME(false, path_, ": its header announces ", count, " item(s) of ", item_bytes,
                       " byte(s) after a ", header, "-byte header, but the file is ", size_,
                       " bytes", too_short ? " (truncated)" : " (trailing bytes)");
  }

  std::vector<uint8_t> read_payload(int64_t bytes) {
    std::vector<uint8_t> data(static_cast<size_t>(bytes));
    in_.read(reinterpret_cast<char*>(data.data()), bytes);
    TCNN_CHECK_RUNTIME(in_.gcount() == bytes, path_, ": read ", in_.gcount(), " of ", bytes,
                       " payload bytes");
    return data;
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ifstream in_;
  int64_t size_ = 0;
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

}  // namespace tinycnn::data
