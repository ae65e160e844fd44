// Error construction: records the throw site as "file:line" with the directory stripped.
#include "core/error.hpp"

#include <sstream>
#include <string_view>

namespace tinycnn::core {

namespace {
std::string short_location(const std::source_location& where) {
  std::string_view file = where.file_name();
  const auto slash = file.find_last_of('/');
  if (slash != std::string_view::npos) file.remove_prefix(slash + 1);
  std::ostringstream out;  // not string '+': g++ 12 -O3 warns falsely (-Wrestrict) on that
  out << file << ':' << where.line();
  return out.str();
}
}  // namespace

Error::Error(ErrorKind kind, const std::string& message, std::source_location where)
    : std::runtime_error(message), kind_(kind), where_(short_location(where)) {}

}  // namespace tinycnn::core
