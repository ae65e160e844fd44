// The out dir's lock and checks.
#include "run/run_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "io/atomic_file.hpp"
#include "run/run_files.hpp"

namespace tinycnn::run {

namespace {
constexpr const char* kLockName = ".tinycnn.lock";

std::string read_small(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string text(buf, n > 0 ? static_cast<size_t>(n) : 0);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.empty() ? "unknown" : text;
}
}  // namespace

RunDir::RunDir(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  TCNN_CHECK_RUNTIME(std::filesystem::is_directory(dir_), dir_,
                     ": cannot create the output directory",
                     ec ? ": " + ec.message() : std::string());
  const std::string lock = file(kLockName);
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  TCNN_CHECK_RUNTIME(lock_fd_ >= 0, lock, ": cannot open the lock file: ", std::strerror(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int why = errno;
    const std::string holder = read_small(lock_fd_);
    ::close(lock_fd_);
    lock_fd_ = -1;
    TCNN_CHECK_RUNTIME(why != EWOULDBLOCK, dir_, ": in use by another tinycnn run (pid ", holder,
                       "); expected one run per output directory");
    TCNN_CHECK_RUNTIME(false, lock, ": cannot lock: ", std::strerror(why));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) != 0 ||
      ::pwrite(lock_fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    // The pid is only for the other run's message; the lock itself holds.
  }
  io::remove_stale_temporaries(dir_);
}

RunDir::~RunDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

std::vector<std::string> RunDir::run_files() const {
  std::vector<std::string> found;
  std::error_code ec;
  if (std::filesystem::exists(file(kCheckpointFile), ec)) found.emplace_back(kCheckpointFile);
  // An empty metrics.jsonl beside no checkpoint is a run that saved no epoch: nothing to keep.
  const std::string metrics = file(kMetricsFile);
  if (std::filesystem::exists(metrics, ec) &&
      (!found.empty() || std::filesystem::file_size(metrics, ec) > 0)) {
    found.emplace_back(kMetricsFile);
  }
  return found;
}

void RunDir::require_fresh(bool replace) const {
  const std::vector<std::string> found = run_files();
  if (found.empty() || replace) return;
  throw ExistingRun(core::ErrorKind::Invalid,
                    dir_ + ": holds another run (" + core::join(found) +
                        "); expected a new or empty output directory, a resume of that run, or "
                        "permission to replace it");
}

}  // namespace tinycnn::run
