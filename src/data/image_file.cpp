// Decoding with stb_image (Debian's libstb), converting to planar bytes, resizing.
#include "data/image_file.hpp"

#include <stb_image.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "core/error.hpp"
#include "core/file_kind.hpp"
#include "data/image_header.hpp"

namespace tinycnn::data {

namespace {
// The whole file: a regular file (a FIFO would block the reader, a folder is no image) that can
// be opened, of at most kMaxImageFileBytes.
std::string read_file_bytes(const std::string& path) {
  const std::string kind = core::file_kind(path);
  TCNN_CHECK_RUNTIME(kind != "nothing", path, ": no such file");
  TCNN_CHECK_RUNTIME(kind.empty(), path, ": expected an image file, got ", kind);
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  TCNN_CHECK_RUNTIME(!ec && size <= static_cast<uintmax_t>(kMaxImageFileBytes), path, ": ", size,
                     " bytes, expected an image file of at most ", kMaxImageFileBytes);
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  TCNN_CHECK_RUNTIME(in.is_open(), path,
                     ": cannot open: ", errno ? std::strerror(errno) : "unknown error");
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  TCNN_CHECK_RUNTIME(in.gcount() == static_cast<std::streamsize>(size), path, ": read ",
                     in.gcount(), " of its ", size, " bytes");
  return bytes;
}

// The header's claims judged before the decoder allocates: a hostile file must not make it
// allocate gigabytes, nor fill a truncated picture.
ImageHeader checked_header(const std::string& bytes, const std::string& path) {
  const std::optional<ImageHeader> h = read_image_header(bytes);
  TCNN_CHECK_RUNTIME(h.has_value(), path,
                     ": cannot decode as an image (expected a PNG, JPEG, BMP, PGM or PPM file)");
  TCNN_CHECK_RUNTIME(h->width > 0 && h->height > 0, path, ": the ", h->format, " header says ",
                     h->width, "x", h->height, " pixels, expected a positive size");
  TCNN_CHECK_RUNTIME(h->width <= kMaxImageSide && h->height <= kMaxImageSide, path,
                     ": the image is too large: ", h->width, "x", h->height,
                     " pixels, expected at most ", kMaxImageSide, " on a side");
  TCNN_CHECK_RUNTIME(h->width * h->height <= kMaxImagePixels, path,
                     ": the image is too large: ", h->width, "x", h->height, " = ",
                     h->width * h->height, " pixels, expected at most ", kMaxImagePixels);
  TCNN_CHECK_RUNTIME(h->needed_bytes <= static_cast<int64_t>(bytes.size()), path, ": a truncated ",
                     h->format, ": its ", h->width, "x", h->height, " pixels need ",
                     h->needed_bytes, " bytes, the file has ", bytes.size());
  return *h;
}
}  // namespace

Image read_image_file(const std::string& path, int64_t channels) {
  TCNN_CHECK(channels >= 1 && channels <= 4, path,
             ": image files have 1 to 4 channels (grey, "
             "grey + alpha, RGB, RGBA), the config's input has ",
             channels);
  const std::string bytes = read_file_bytes(path);
  const ImageHeader header = checked_header(bytes, path);
  int w = 0, h = 0, in_file = 0;
  const std::unique_ptr<stbi_uc, void (*)(void*)> data(
      stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()),
                            static_cast<int>(bytes.size()), &w, &h, &in_file,
                            static_cast<int>(channels)),
      stbi_image_free);
  TCNN_CHECK_RUNTIME(data != nullptr, path, ": cannot decode as a ", header.format, " (",
                     stbi_failure_reason() ? stbi_failure_reason() : "unknown", ")");
  TCNN_CHECK_RUNTIME(w == header.width && h == header.height, path, ": decoded ", w, "x", h,
                     " pixels, but the ", header.format, " header says ", header.width, "x",
                     header.height);
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
