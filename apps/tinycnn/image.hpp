// A small RGB canvas for the CLI's pictures: tiles scaled by nearest neighbour, a diverging
// blue-white-red colour map centred on zero, grey scale, 3x5 digit labels, PNG output (stb).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tinycnn::cli {

inline constexpr int64_t kMaxImageSide = 16384;
// Throws core::Error (Invalid) naming `what` when a width x height picture is empty or larger
// than kMaxImageSide on a side: callers check their sizes before computing anything.
void check_image_size(int64_t width, int64_t height, const std::string& what);

struct Rgb {
  uint8_t r, g, b;
};

class Image {
 public:
  Image(int width, int height, Rgb background = {255, 255, 255});
  int width() const { return width_; }
  int height() const { return height_; }
  void set(int x, int y, Rgb c);
  void fill(int x, int y, int w, int h, Rgb c);
  // Draws decimal digits (3x5 font) with each font pixel `scale` x `scale` screen pixels.
  void digits(int x, int y, const std::string& text, int scale, Rgb c = {0, 0, 0});
  // Throws core::Error (Runtime) naming the path when the file cannot be written.
  void write_png(const std::string& path) const;

 private:
  int width_, height_;
  std::vector<uint8_t> rgb_;
};

// v in [-scale, scale] -> blue (negative) .. white (0) .. red (positive).
Rgb diverging(float v, float scale);
// v in [lo, hi] -> black .. white.
Rgb grey(float v, float lo, float hi);

// Width of `text` drawn by Image::digits at `scale`.
int digits_width(const std::string& text, int scale);

}  // namespace tinycnn::cli
