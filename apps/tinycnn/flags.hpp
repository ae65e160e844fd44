// Validation of command-line values that the option types alone do not give: a flag that
// overrides a config field is taken as text and goes through the config's own parser, so a flag
// and the field it overrides accept exactly the same values.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "model/spec.hpp"

namespace tinycnn::cli {

// The JSON number a flag's text spells ("64", "0.01", "1e-3"), for a flag checked by kNumber;
// throws core::Error (Invalid) naming the flag for anything else.
nlohmann::json number_flag(const std::string& flag, const std::string& text);

// Text that is a JSON number: not "", "nan" or "12abc" (its range is the config's to check).
extern const CLI::Validator kNumber;
// The config at `path` with `apply` writing the command line's overrides into its training
// section, checked by the same parser as the file ("<path> with the command-line options: ...").
model::ModelSpec resolve_config(const std::string& path,
                                const std::function<void(model::Json& training)>& apply);
// --dataset and --data into a training section: a data set named without --data takes its own
// default folder, not the config's.
void apply_data_flags(model::Json& training, const std::optional<std::string>& dataset,
                      const std::optional<std::string>& data);

// A fraction in [0, 1], finite (CLI::Range lets NaN through).
extern const CLI::Validator kFraction;
// A count >= 0 that fits an int64_t.
extern const CLI::Validator kCount;

}  // namespace tinycnn::cli
