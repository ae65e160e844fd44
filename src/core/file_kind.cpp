// What a path names; see file_kind.hpp.
#include "core/file_kind.hpp"

#include <filesystem>

namespace tinycnn::core {

std::string file_kind(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  switch (fs::status(path, ec).type()) {
    case fs::file_type::regular:
      return "";
    case fs::file_type::not_found:
    case fs::file_type::none:
      return "nothing";
    case fs::file_type::directory:
      return "a directory";
    case fs::file_type::character:
      return "a character device";
    case fs::file_type::block:
      return "a block device";
    case fs::file_type::fifo:
      return "a FIFO";
    case fs::file_type::socket:
      return "a socket";
    case fs::file_type::symlink:
    case fs::file_type::unknown:
      return "not a regular file";
  }
  return "not a regular file";
}

}  // namespace tinycnn::core
