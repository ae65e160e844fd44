// Depth-limited, duplicate-refusing JSON parsing through nlohmann's parser callback.
#include "io/json_text.hpp"

#include <set>
#include <vector>

namespace tinycnn::io {

namespace {
using Json = nlohmann::json;
}  // namespace

nlohmann::json parse_json_text(std::string_view text, const std::string& what, core::ErrorKind kind,
                               int max_depth) {
  std::vector<std::set<std::string>> keys;  // one set per open object
  int depth = 0;
  auto callback = [&](int, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (++depth > max_depth) {
          throw core::Error(kind,
                            core::concat(what, ": JSON nested deeper than ", max_depth, " levels"));
        }
        if (event == Json::parse_event_t::object_start) keys.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        keys.pop_back();
        --depth;
        break;
      case Json::parse_event_t::array_end:
        --depth;
        break;
      case Json::parse_event_t::key:
        if (!keys.back().insert(parsed.get<std::string>()).second) {
          throw core::Error(kind, core::concat(what, ": key \"", parsed.get<std::string>(),
                                               "\" appears twice in one object"));
        }
        break;
      case Json::parse_event_t::value:
        break;
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), callback);
  } catch (const Json::parse_error& e) {
    throw core::Error(kind, core::concat(what, ": not valid JSON (byte ", e.byte, ")"));
  } catch (const Json::exception&) {
    // e.g. a number too large for a double (found by fuzzing: "7777…e7777")
    throw core::Error(kind, core::concat(what, ": not valid JSON (a number out of range)"));
  }
}

}  // namespace tinycnn::io
