// Checking that text is UTF-8: names read from files and folders (class names) end up in JSON
// (metrics, checkpoints' metadata, --json output), which holds UTF-8 only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tinycnn::core {

// The offset of the first byte that does not begin or continue a well-formed UTF-8 sequence
// (overlong forms, surrogates and code points past U+10FFFF included), or nothing.
std::optional<size_t> invalid_utf8_at(std::string_view text);

// `text` with each byte of an ill-formed sequence written as \xNN, for an error message.
std::string escape_invalid_utf8(std::string_view text);

}  // namespace tinycnn::core
