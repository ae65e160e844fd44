// POSIX implementation of the atomic replace.
#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.hpp"

namespace tinycnn::io {

namespace {
std::string os_error() { return std::strerror(errno); }

void write_all(int fd, const std::string& contents, const std::string& path) {
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    TCNN_CHECK_RUNTIME(n > 0, path, ": write failed: ", os_error());
    done += static_cast<size_t>(n);
  }
}
}  // namespace

void write_file_atomically(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  TCNN_CHECK_RUNTIME(fd >= 0, tmp, ": cannot create: ", os_error());
  try {
    write_all(fd, contents, tmp);
    TCNN_CHECK_RUNTIME(::fsync(fd) == 0, tmp, ": fsync failed: ", os_error());
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  const bool closed = ::close(fd) == 0;
  if (!closed || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = os_error();
    ::unlink(tmp.c_str());
    TCNN_CHECK_RUNTIME(false, path, ": cannot replace: ", why);
  }
  // (Not `dir = "."` after the fact: g++ 12 -O3 -march=haswell warns falsely -Wrestrict on it.)
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // best effort: makes the rename itself durable
    ::close(dfd);
  }
}

}  // namespace tinycnn::io
