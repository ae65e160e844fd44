// Parsing JSON from untrusted files: at most `max_depth` levels of nesting (a deeply nested
// document would otherwise overflow the stack when it is torn down) and no key twice in one
// object (which value wins would be a guess). Errors are core::Error of the given kind, prefixed
// with `what` (the file).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace tinycnn::io {

nlohmann::json parse_json_text(std::string_view text, const std::string& what, core::ErrorKind kind,
                               int max_depth = 64);

}  // namespace tinycnn::io
