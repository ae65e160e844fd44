// An image file's header, read apart from the decoder: its format and the size it announces,
// so that a file is judged before stb_image allocates for it — too large (said as such, not
// "unknown image type"), truncated (a BMP's pixel rows must all be in the file: stb_image
// would fill the missing ones), or a top-down BMP (a negative height, which is legal).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tinycnn::data {

struct ImageHeader {
  std::string format;  // "PNG", "JPEG", "BMP", "PGM", "PPM"
  int64_t width = 0, height = 0;
  // The bytes the file must hold for its pixels to be all there (BMP), or 0 when the header
  // does not say (compressed formats: their decoder finds a truncation).
  int64_t needed_bytes = 0;
};

// The header of `bytes`, or nothing for a format that is not one of the five above or a header
// cut short.
std::optional<ImageHeader> read_image_header(std::string_view bytes);

}  // namespace tinycnn::data
