// Strict JSON field access with JSON-path errors (ErrorKind::Invalid: exit code 2).
#include "model/json_reader.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace tinycnn::model {

std::string describe_json(const Json& value) {
  switch (value.type()) {
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array of " + std::to_string(value.size());
    case Json::value_t::null:
      return "null";
    default:
      break;
  }
  std::string text = value.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

ObjectReader::ObjectReader(const Json& value, std::string where, std::vector<std::string> allowed)
    : value_(value), path_(std::move(where)) {
  TCNN_CHECK(value.is_object(), path_.empty() ? "config" : path_, ": expected an object, got ",
             describe_json(value));
  for (const auto& item : value.items()) {
    TCNN_CHECK(std::find(allowed.begin(), allowed.end(), item.key()) != allowed.end(),
               path(item.key()), ": unknown key; allowed: ", core::join(allowed));
  }
}

std::string ObjectReader::path(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

void ObjectReader::fail(const std::string& key, const std::string& expected,
                        const Json& got) const {
  throw core::Error(core::ErrorKind::Invalid,
                    path(key) + ": expected " + expected + ", got " + describe_json(got));
}

const Json& ObjectReader::raw(const std::string& key) const {
  TCNN_CHECK(has(key), path(key), ": required key is missing");
  return value_.at(key);
}

int64_t ObjectReader::integer(const std::string& key, std::optional<int64_t> fallback, int64_t min,
                              int64_t max) const {
  if (!has(key)) {
    TCNN_CHECK(fallback.has_value(), path(key), ": required key is missing");
    return *fallback;
  }
  const Json& v = value_.at(key);
  const std::string expected =
      "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  // nlohmann stores non-negative integers as unsigned: compare before converting.
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(max)) {
    fail(key, expected, v);
  }
  if (!v.is_number_integer()) fail(key, expected, v);
  const int64_t x = v.get<int64_t>();
  if (x < min || x > max) fail(key, expected, v);
  return x;
}

double ObjectReader::number(const std::string& key, double fallback, double min, double max,
                            bool min_exclusive, bool max_exclusive) const {
  if (!has(key)) return fallback;
  const Json& v = value_.at(key);
  const std::string expected = std::string("a number in ") + (min_exclusive ? "(" : "[") +
                               core::concat(min, ", ", max) + (max_exclusive ? ")" : "]");
  if (!v.is_number()) fail(key, expected, v);
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < min || x > max || (min_exclusive && x == min) ||
      (max_exclusive && x == max)) {
    fail(key, expected, v);
  }
  return x;
}

bool ObjectReader::boolean(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const Json& v = value_.at(key);
  if (!v.is_boolean()) fail(key, "true or false", v);
  return v.get<bool>();
}

std::string ObjectReader::string(const std::string& key, std::optional<std::string> fallback,
                                 const std::vector<std::string>& allowed) const {
  if (!has(key)) {
    TCNN_CHECK(fallback.has_value(), path(key), ": required key is missing");
    return *fallback;
  }
  const Json& v = value_.at(key);
  const std::string expected = allowed.empty() ? "a string" : "one of " + core::join(allowed);
  if (!v.is_string()) fail(key, expected, v);
  std::string s = v.get<std::string>();
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
    fail(key, expected, v);
  }
  return s;
}

std::array<int64_t, 2> ObjectReader::pair(const std::string& key,
                                          std::optional<std::array<int64_t, 2>> fallback,
                                          int64_t min) const {
  if (!has(key)) {
    TCNN_CHECK(fallback.has_value(), path(key), ": required key is missing");
    return *fallback;
  }
  const Json& v = value_.at(key);
  const std::string expected = "an integer >= " + std::to_string(min) + " or a pair [h, w] of them";
  constexpr int64_t kMax = 1 << 20;  // larger sizes are certainly mistakes
  auto element = [&](const Json& e) {
    if (!e.is_number_integer()) fail(key, expected, v);
    const int64_t x = e.get<int64_t>();
    if (x < min || x > kMax) fail(key, expected, v);
    return x;
  };
  if (v.is_array()) {
    if (v.size() != 2) fail(key, expected, v);
    return {element(v[0]), element(v[1])};
  }
  const int64_t x = element(v);
  return {x, x};
}

}  // namespace tinycnn::model
