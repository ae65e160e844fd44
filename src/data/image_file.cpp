// Decoding with stb_image (Debian's libstb), converting to planar bytes, resizing.
#include "data/image_file.hpp"

#include <stb_image.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <string_view>

#include "core/error.hpp"

namespace tinycnn::data {

namespace {
// PNG, JPEG, BMP or binary PGM / PPM, by their first bytes: stb_image decodes more formats
// (GIF, PSD, HDR, PIC, TGA), and a data set's files should be none of those.
bool known_format(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[8] = {};
  in.read(head, sizeof head);
  const auto n = in.gcount();
  const auto starts = [&](std::string_view magic) {
    return n >= static_cast<std::streamsize>(magic.size()) &&
           std::string_view(head, magic.size()) == magic;
  };
  return starts("\x89PNG\r\n\x1a\n") || starts("\xff\xd8\xff") || starts("BM") || starts("P5") ||
         starts("P6");
}
}  // namespace

Image read_image_file(const std::string& path, int64_t channels) {
  TCNN_CHECK(channels >= 1 && channels <= 4, path,
             ": image files have 1 to 4 channels (grey, "
             "grey + alpha, RGB, RGBA), the config's input has ",
             channels);
  TCNN_CHECK_RUNTIME(known_format(path), path,
                     ": cannot decode as an image (expected a PNG, JPEG, BMP, PGM or PPM file)");
  int w = 0, h = 0, in_file = 0;
  // The header's size first: a hostile file must not make the decoder allocate gigabytes.
  TCNN_CHECK_RUNTIME(stbi_info(path.c_str(), &w, &h, &in_file) == 1, path,
                     ": cannot decode as an image (",
                     stbi_failure_reason() ? stbi_failure_reason() : "unknown", ")");
  TCNN_CHECK_RUNTIME(w > 0 && h > 0 && w <= kMaxImageSide && h <= kMaxImageSide, path,
                     ": the image is ", w, "x", h, " pixels, expected at most ", kMaxImageSide,
                     " on a side");
  TCNN_CHECK_RUNTIME(int64_t{w} * h <= kMaxImagePixels, path, ": the image is ", w, "x", h, " = ",
                     int64_t{w} * h, " pixels, expected at most ", kMaxImagePixels);
  const std::unique_ptr<stbi_uc, void (*)(void*)> data(
      stbi_load(path.c_str(), &w, &h, &in_file, static_cast<int>(channels)), stbi_image_free);
  TCNN_CHECK_RUNTIME(data != nullptr, path, ": cannot decode as an image (",
                     stbi_failure_reason() ? stbi_failure_reason() : "unknown", ")");
  Image image{.channels = channels, .height = h, .width = w, .pixels = {}};
  const int64_t plane = int64_t{h} * w;
  image.pixels.resize(static_cast<size_t>(plane * channels));
  for (int64_t p = 0; p < plane; ++p) {  // interleaved HWC -> planar CHW
    for (int64_t c = 0; c < channels; ++c) {
      image.pixels[static_cast<size_t>(c * plane + p)] = data.get()[p * channels + c];
    }
  }
  return image;
}

Image resize_bilinear(const Image& in, int64_t height, int64_t width) {
  Image out{.channels = in.channels, .height = height, .width = width, .pixels = {}};
  out.pixels.resize(static_cast<size_t>(in.channels * height * width));
  const double sy = static_cast<double>(in.height) / static_cast<double>(height);
  const double sx = static_cast<double>(in.width) / static_cast<double>(width);
  const auto source = [](int64_t i, double scale, int64_t size, int64_t& i0, int64_t& i1) {
    const double f = std::clamp((static_cast<double>(i) + 0.5) * scale - 0.5, 0.0,
                                static_cast<double>(size - 1));
    i0 = static_cast<int64_t>(f);
    i1 = std::min(i0 + 1, size - 1);
    return f - static_cast<double>(i0);
  };
  for (int64_t y = 0; y < height; ++y) {
    int64_t y0 = 0, y1 = 0;
    const double fy = source(y, sy, in.height, y0, y1);
    for (int64_t x = 0; x < width; ++x) {
      int64_t x0 = 0, x1 = 0;
      const double fx = source(x, sx, in.width, x0, x1);
      for (int64_t c = 0; c < in.channels; ++c) {
        const uint8_t* plane = in.pixels.data() + c * in.height * in.width;
        const auto at = [&](int64_t yy, int64_t xx) {
          return static_cast<double>(plane[yy * in.width + xx]);
        };
        const double v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) +
                         fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
        out.pixels[static_cast<size_t>((c * height + y) * width + x)] =
            static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 255.0)));
      }
    }
  }
  return out;
}

Image fit_image(Image image, int64_t height, int64_t width, bool resize, const std::string& path) {
  if (image.height == height && image.width == width) return image;
  TCNN_CHECK_RUNTIME(resize, path, ": the image is ", image.height, "x", image.width,
                     ", the config's input is ", height, "x", width,
                     " (training.resize resizes it)");
  return resize_bilinear(image, height, width);
}

}  // namespace tinycnn::data
