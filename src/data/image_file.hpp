// Image files (PNG, JPEG, BMP, binary PGM/PPM, decoded by stb_image) as planar bytes [C][H][W],
// converted to the model's channels with stb's conventions: 1 = luminance
// (77 R + 150 G + 29 B) >> 8, 2 = luminance + alpha, 3 = RGB (a grey image replicated),
// 4 = RGBA. Other channel counts cannot be read from image files. And bilinear resizing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tinycnn::data {

// Larger image files are refused before they are decoded: a header of a few bytes can claim a
// picture of gigabytes (stb_image fills a truncated BMP).
inline constexpr int kMaxImageSide = 16384;
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 24;  // 4096 x 4096
inline constexpr int64_t kMaxImageFileBytes = int64_t{256} << 20;

struct Image {
  int64_t channels = 0, height = 0, width = 0;
  std::vector<uint8_t> pixels;  // [C][H][W]
};

// Throws core::Error (Runtime) naming the file when it is missing, not a regular file (a FIFO,
// a device), unreadable, too large, truncated, cannot be decoded or is another format
// (stb_image's GIF, PSD, HDR, PIC, TGA are refused), and (Invalid) for a channel count image
// files do not have.
Image read_image_file(const std::string& path, int64_t channels);

// The image resized to height x width, bilinearly (pixel centres aligned, edges clamped).
Image resize_bilinear(const Image& image, int64_t height, int64_t width);

// The image as the model takes it: `height` x `width`, resized when `resize`, otherwise an error
// naming `path` and both sizes when they differ.
Image fit_image(Image image, int64_t height, int64_t width, bool resize, const std::string& path);

}  // namespace tinycnn::data
