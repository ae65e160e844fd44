// Validation of command-line values that the option types alone do not give: a flag that
// overrides a config field is taken as text and goes through the config's own parser, so a flag
// and the field it overrides accept exactly the same values.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

namespace tinycnn::cli {

// The JSON number a flag's text spells ("64", "0.01", "1e-3"), for a flag checked by kNumber;
// throws core::Error (Invalid) naming the flag for anything else.
nlohmann::json number_flag(const std::string& flag, const std::string& text);

// Text that is a JSON number: not "", "nan" or "12abc" (its range is the config's to check).
extern const CLI::Validator kNumber;
// A fraction in [0, 1], finite (CLI::Range lets NaN through).
extern const CLI::Validator kFraction;
// A count >= 0 that fits an int64_t.
extern const CLI::Validator kCount;

}  // namespace tinycnn::cli
