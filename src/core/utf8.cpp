// UTF-8 well-formedness (Unicode's table 3-7 of well-formed byte sequences).
#include "core/utf8.hpp"

namespace tinycnn::core {

std::optional<size_t> invalid_utf8_at(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
    const uint8_t b = byte(i);
    int extra = 0;
    uint8_t low = 0x80, high = 0xbf;  // the range of the byte after the lead byte
    if (b < 0x80) {
      ++i;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      extra = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      extra = 2;
      if (b == 0xe0) low = 0xa0;   // no overlong forms
      if (b == 0xed) high = 0x9f;  // no surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      extra = 3;
      if (b == 0xf0) low = 0x90;   // no overlong forms
      if (b == 0xf4) high = 0x8f;  // nothing past U+10FFFF
    } else {
      return i;
    }
    if (i + static_cast<size_t>(extra) >= text.size()) return i;  // cut short
    for (int k = 1; k <= extra; ++k) {
      const uint8_t c = byte(i + static_cast<size_t>(k));
      const bool ok = k == 1 ? c >= low && c <= high : c >= 0x80 && c <= 0xbf;
      if (!ok) return i;
    }
    i += static_cast<size_t>(extra) + 1;
  }
  return std::nullopt;
}

std::string escape_invalid_utf8(std::string_view text) {
  std::string out;
  while (!text.empty()) {
    const size_t bad = invalid_utf8_at(text).value_or(text.size());
    out.append(text.substr(0, bad));
    if (bad == text.size()) break;
    static constexpr char kHex[] = "0123456789abcdef";
    const auto b = static_cast<uint8_t>(text[bad]);
    out.append("\\x").push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
    text.remove_prefix(bad + 1);
  }
  return out;
}

}  // namespace tinycnn::core
