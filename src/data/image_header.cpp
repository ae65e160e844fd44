// Image headers by their published layouts: PNG's IHDR chunk, JPEG's start-of-frame marker,
// BMP's BITMAPINFOHEADER, the PNM text header.
#include "data/image_header.hpp"

#include <algorithm>
#include <cctype>

namespace tinycnn::data {

namespace {
uint32_t big_endian(std::string_view b, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v = (v << 8) | static_cast<uint8_t>(b[at + static_cast<size_t>(i)]);
  return v;
}
int64_t little_endian_signed32(std::string_view b, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[at + static_cast<size_t>(i)]);
  return static_cast<int32_t>(v);
}

std::optional<ImageHeader> png(std::string_view b) {
  // Signature (8), IHDR's length (4) and type (4), then width and height, big-endian.
  if (b.size() < 24 || b.substr(12, 4) != "IHDR") return std::nullopt;
  return ImageHeader{"PNG", big_endian(b, 16, 4), big_endian(b, 20, 4), 0};
}

std::optional<ImageHeader> jpeg(std::string_view b) {
  size_t at = 2;
  while (at + 4 <= b.size()) {
    if (static_cast<uint8_t>(b[at]) != 0xff) return std::nullopt;
    const uint8_t marker = static_cast<uint8_t>(b[at + 1]);
    if (marker == 0xff) {  // fill byte
      ++at;
      continue;
    }
    const uint32_t length = big_endian(b, at + 2, 2);
    // Start of frame: SOF0..SOF15 but DHT (C4), JPG (C8), DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc) {
      if (at + 9 > b.size()) return std::nullopt;
      return ImageHeader{"JPEG", big_endian(b, at + 7, 2), big_endian(b, at + 5, 2), 0};
    }
    at += 2 + length;
  }
  return std::nullopt;
}

// Sides past this are refused before the pixel size matters (and its product stays in range).
constexpr int64_t kSide = int64_t{1} << 24;

std::optional<ImageHeader> bmp(std::string_view b) {
  if (b.size() < 30) return std::nullopt;
  const int64_t offset = little_endian_signed32(b, 10);
  const int64_t width = little_endian_signed32(b, 18), height = little_endian_signed32(b, 22);
  const int64_t bits = static_cast<uint8_t>(b[28]) | static_cast<uint8_t>(b[29]) << 8;
  const int64_t compression = b.size() >= 34 ? little_endian_signed32(b, 30) : 0;
  ImageHeader h{"BMP", width, height < 0 ? -height : height, 0};  // negative: rows top-down
  // Uncompressed (BI_RGB, BI_BITFIELDS): rows of whole 32-bit words after the pixel offset.
  if ((compression == 0 || compression == 3) && bits > 0 && bits <= 32 && width > 0 &&
      width <= kSide && h.height <= kSide) {
    h.needed_bytes = std::max<int64_t>(offset, 14) + (width * bits + 31) / 32 * 4 * h.height;
  }
  return h;
}

// "P5" / "P6", whitespace and comments, then width and height in decimal.
std::optional<ImageHeader> pnm(std::string_view b) {
  size_t at = 2;
  int64_t dims[2] = {0, 0};
  for (int64_t& d : dims) {
    while (at < b.size() && (std::isspace(static_cast<unsigned char>(b[at])) || b[at] == '#')) {
      if (b[at] == '#') {
        while (at < b.size() && b[at] != '\n') ++at;
      } else {
        ++at;
      }
    }
    if (at >= b.size() || !std::isdigit(static_cast<unsigned char>(b[at]))) return std::nullopt;
    for (; at < b.size() && std::isdigit(static_cast<unsigned char>(b[at])); ++at) {
      d = std::min<int64_t>(d * 10 + (b[at] - '0'), int64_t{1} << 40);
    }
  }
  return ImageHeader{b[1] == '5' ? "PGM" : "PPM", dims[0], dims[1], 0};
}
}  // namespace

std::optional<ImageHeader> read_image_header(std::string_view bytes) {
  if (bytes.starts_with("\x89PNG\r\n\x1a\n")) return png(bytes);
  if (bytes.starts_with("\xff\xd8\xff")) return jpeg(bytes);
  if (bytes.starts_with("BM")) return bmp(bytes);
  if (bytes.starts_with("P5") || bytes.starts_with("P6")) return pnm(bytes);
  return std::nullopt;
}

}  // namespace tinycnn::data
