// Command-line value checks.
#include "flags.hpp"

#include <cmath>
#include <cstdint>
#include <limits>

#include "core/error.hpp"

namespace tinycnn::cli {

nlohmann::json number_flag(const std::string& flag, const std::string& text) {
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  TCNN_CHECK(!value.is_discarded() && value.is_number(), flag, ": expected a number, got '", text,
             "'");
  return value;
}

model::ModelSpec resolve_config(const std::string& path,
                                const std::function<void(model::Json& training)>& apply) {
  model::Json config = *model::load_config(path).source;
  model::Json& t = config["training"];
  if (!t.is_object()) t = model::Json::object();
  apply(t);
  try {
    return model::parse_config(config);
  } catch (const core::Error& e) {
    throw core::Error(e.kind(), path + " with the command-line options: " + e.what());
  }
}

void apply_data_flags(model::Json& training, const std::optional<std::string>& dataset,
                      const std::optional<std::string>& data) {
  if (dataset) {
    training["dataset"] = *dataset;
    training.erase("data_dir");
  }
  if (data) training["data_dir"] = *data;
}

const CLI::Validator kNumber(
    [](std::string& text) -> std::string {
      const nlohmann::json v = nlohmann::json::parse(text, nullptr, false);
      return !v.is_discarded() && v.is_number() ? std::string()
                                                : "expected a number, got '" + text + "'";
    },
    "NUMBER");

const CLI::Validator kFraction(
    [](std::string& text) -> std::string {
      const nlohmann::json v = nlohmann::json::parse(text, nullptr, false);
      if (v.is_discarded() || !v.is_number() || !(v.get<double>() >= 0.0) ||
          !(v.get<double>() <= 1.0)) {
        return "expected a number in [0, 1], got '" + text + "'";
      }
      return {};
    },
    "A in [0, 1]");

const CLI::Validator kCount(
    [](std::string& text) -> std::string {
      const nlohmann::json v = nlohmann::json::parse(text, nullptr, false);
      const bool ok = !v.is_discarded() &&
                      (v.is_number_unsigned() ? v.get<uint64_t>() <= uint64_t{INT64_MAX}
                                              : v.is_number_integer() && v.get<int64_t>() >= 0);
      return ok ? std::string() : "expected a whole number >= 0, got '" + text + "'";
    },
    "N >= 0");

}  // namespace tinycnn::cli
