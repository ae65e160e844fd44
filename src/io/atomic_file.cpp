// POSIX implementation of the atomic replace.
#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "core/error.hpp"
#include "core/file_kind.hpp"

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
constexpr std::string_view kMark = ".tinycnn-tmp-";

// The pid in a temporary's name ".<file>.tinycnn-tmp-<pid>", or 0 when the name is not one.
pid_t temporary_pid(const std::string& name) {
  const auto mark = name.rfind(kMark);
  if (name.empty() || name[0] != '.' || mark == std::string::npos || mark == 0) return 0;
  const std::string digits = name.substr(mark + kMark.size());
  if (digits.empty() || digits.size() > 9 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return 0;
  }
  return static_cast<pid_t>(std::stol(digits));
}

bool process_alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

std::string temporary_path(const std::string& path) {
  const std::filesystem::path p(path);
  std::string name = ".";  // appended piece by piece: g++ 12 warns falsely on a + chain here
  name.append(p.filename().string()).append(kMark).append(std::to_string(::getpid()));
  return (p.parent_path() / name).string();
}

void check_writable(const std::string& path, const std::vector<std::string>& inputs) {
  std::error_code ec;
  TCNN_CHECK(!path.empty(), "output file: expected a file name, got an empty path");
  const std::string kind = core::file_kind(path);
  TCNN_CHECK_RUNTIME(kind.empty() || kind == "nothing", path, ": expected a file name, got ", kind);
  for (const std::string& input : inputs) {
    TCNN_CHECK(input.empty() || !std::filesystem::equivalent(path, input, ec), path,
               ": is the input file ", input, "; the output would destroy it: write it elsewhere");
  }
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  TCNN_CHECK_RUNTIME(std::filesystem::is_directory(dir, ec), path, ": the folder ", dir,
                     " does not exist");
  TCNN_CHECK_RUNTIME(::access(dir.c_str(), W_OK) == 0, path, ": cannot write in ", dir, ": ",
                     os_error());
}

int remove_stale_temporaries(const std::string& dir) {
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const pid_t pid = temporary_pid(entry.path().filename().string());
    if (pid <= 0 || process_alive(pid) || !entry.is_regular_file(ec)) continue;
    if (std::filesystem::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

void write_file_atomically(const std::string& path, const std::string& contents) {
  const std::string kind = core::file_kind(path);
  TCNN_CHECK_RUNTIME(kind.empty() || kind == "nothing", path, ": cannot replace ", kind,
                     " with a file");
  const std::string tmp = temporary_path(path);
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
