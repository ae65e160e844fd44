// The JSON documents the CLI prints: a string that is not UTF-8 (a file name's bytes) is written
// with U+FFFD in place of each bad byte, instead of failing the command after its work is done.
#pragma once

#include <nlohmann/json.hpp>

namespace tinycnn::cli {

// For dump(indent, ' ', false, kReplaceInvalidUtf8).
inline constexpr auto kReplaceInvalidUtf8 = nlohmann::json::error_handler_t::replace;

}  // namespace tinycnn::cli
