// ObjectReader: typed, strict access to one JSON object of a config. It rejects unknown keys
// (listing the allowed ones) and every error names the JSON path, e.g.
// "layers[3].kernel_size: expected a positive integer or [kh, kw], got -1".
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace tinycnn::model {

using Json = nlohmann::json;

class ObjectReader {
 public:
  // Throws unless `value` is an object whose keys are all in `allowed`.
  ObjectReader(const Json& value, std::string path, std::vector<std::string> allowed);

  bool has(const std::string& key) const { return value_.contains(key); }
  std::string path(const std::string& key) const;
  const Json& raw(const std::string& key) const;  // required key of any type

  int64_t integer(const std::string& key, std::optional<int64_t> fallback, int64_t min,
                  int64_t max = INT32_MAX) const;
  double number(const std::string& key, double fallback, double min, double max,
                bool min_exclusive = false, bool max_exclusive = false) const;
  bool boolean(const std::string& key, bool fallback) const;
  std::string string(const std::string& key, std::optional<std::string> fallback,
                     const std::vector<std::string>& allowed = {}) const;
  // An integer or a two-element array [h, w].
  std::array<int64_t, 2> pair(const std::string& key,
                              std::optional<std::array<int64_t, 2>> fallback, int64_t min) const;

 private:
  [[noreturn]] void fail(const std::string& key, const std::string& expected,
                         const Json& got) const;

  const Json& value_;
  std::string path_;
};

// "an object", "a string", "-1", ... for messages; long values are shortened.
std::string describe_json(const Json& value);

}  // namespace tinycnn::model
