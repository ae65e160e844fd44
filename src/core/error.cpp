// Error construction: records the throw site as "file:line" with the directory stripped.
#include "core/error.hpp"

#include <string_view>

namespace tinycnn::core {

namespace {
std::string short_location(const std::source_location& where) {
  std::string_view file = where.file_name();
  const auto slash = file.find_last_of('/');
  if (slash != std::string_view::npos) file.remove_prefix(slash + 1);
  std::string out(file);
  out.append(1, ':').append(std::to_string(where.line()));
  return out;
}
}  // namespace

Error::Error(ErrorKind kind, const std::string& message, std::source_location where)
    : std::runtime_error(message), kind_(kind), where_(short_location(where)) {}

}  // namespace tinycnn::core
