// Error construction: records the throw site as "file:line" with the directory stripped.
#include "core/error.hpp"

#include <sstream>
#include <string_view>

namespace tinycnn::core {

namespace {
std::string short_location(const char* file_name, int line) {
  if (!file_name || !*file_name) return "";
  std::string_view file = file_name;
  const auto slash = file.find_last_of('/');
  if (slash != std::string_view::npos) file.remove_prefix(slash + 1);
  std::ostringstream out;  // not string '+': g++ 12 -O3 warns falsely (-Wrestrict) on that
  out << file << ':' << line;
  return out.str();
}
}  // namespace

Error::Error(ErrorKind kind, const std::string& message, const char* file, int line)
    : std::runtime_error(message), kind_(kind), where_(short_location(file, line)) {}

}  // namespace tinycnn::core
