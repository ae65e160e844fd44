// Canvas, colour maps, digit font and PNG writing.
#include "image.hpp"

#include <stb_image_write.h>

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "io/atomic_file.hpp"

namespace tinycnn::cli {

namespace {
// 3x5 glyphs for 0-9, one row per entry, bit 2 = left column.
constexpr uint8_t kDigits[10][5] = {
    {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
    {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}};

uint8_t channel(float t) {
  return static_cast<uint8_t>(std::lround(std::clamp(t, 0.0f, 1.0f) * 255.0f));
}
}  // namespace

namespace {
// Checked before anything is allocated.
size_t checked_bytes(int64_t width, int64_t height) {
  check_image_size(width, height, "image");
  return static_cast<size_t>(width * height * 3);
}
}  // namespace

void check_image_size(int64_t width, int64_t height, const std::string& what) {
  TCNN_CHECK(width > 0 && height > 0 && width <= kMaxImageSide && height <= kMaxImageSide, what,
             ": the picture would be ", width, "x", height, " pixels; expected at most ",
             kMaxImageSide, "x", kMaxImageSide);
}

Image::Image(int width, int height, Rgb background)
    : width_(width), height_(height), rgb_(checked_bytes(width, height)) {
  fill(0, 0, width, height, background);
}

void Image::set(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  uint8_t* p = &rgb_[(static_cast<size_t>(y) * width_ + x) * 3];
  p[0] = c.r, p[1] = c.g, p[2] = c.b;
}

void Image::fill(int x, int y, int w, int h, Rgb c) {
  for (int j = y; j < y + h; ++j) {
    for (int i = x; i < x + w; ++i) set(i, j, c);
  }
}

void Image::digits(int x, int y, const std::string& text, int scale, Rgb c) {
  for (char ch : text) {
    if (ch < '0' || ch > '9') continue;
    const auto& glyph = kDigits[ch - '0'];
    for (int row = 0; row < 5; ++row) {
      for (int col = 0; col < 3; ++col) {
        if (glyph[row] & (4 >> col)) fill(x + col * scale, y + row * scale, scale, scale, c);
      }
    }
    x += 4 * scale;
  }
}

int digits_width(const std::string& text, int scale) {
  return text.empty() ? 0 : static_cast<int>(text.size()) * 4 * scale - scale;
}

void Image::write_png(const std::string& path) const {
  // Encoded in memory, then written like every other file: every write checked, atomically.
  std::string png;
  const auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data),
                                               static_cast<size_t>(size));
  };
  const int ok = stbi_write_png_to_func(append, &png, width_, height_, 3, rgb_.data(), width_ * 3);
  TCNN_CHECK_RUNTIME(ok != 0 && !png.empty(), path, ": cannot encode the PNG image");
  io::write_file_atomically(path, png);
}

Rgb diverging(float v, float scale) {
  const float t = scale > 0 ? std::clamp(v / scale, -1.0f, 1.0f) : 0.0f;
  // White at 0, saturated red at +1 and blue at -1.
  return t >= 0 ? Rgb{255, channel(1 - t), channel(1 - t)}
                : Rgb{channel(1 + t), channel(1 + t), 255};
}

Rgb grey(float v, float lo, float hi) {
  const uint8_t g = channel(hi > lo ? (v - lo) / (hi - lo) : 0.5f);
  return {g, g, g};
}

}  // namespace tinycnn::cli
