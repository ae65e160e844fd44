// Runs the tinycnn binary as a process and captures exit code, stdout and stderr.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace tinycnn::testing {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

RunResult run_tinycnn(const std::vector<std::string>& args);

// How to run it: a limit on the size of every file it writes (in 512-byte blocks, the shell's
// `ulimit -f`, with SIGXFSZ ignored so that a write beyond it fails as on a full disk), and
// stdout to a given file (e.g. /dev/full) instead of being captured.
struct RunSetup {
  int64_t file_size_blocks = 0;       // 0: no limit
  std::string stdout_path;            // empty: captured in RunResult::out
  std::vector<std::string> launcher;  // a command tinycnn runs under (mpirun -np 2), or none
  int64_t memory_kib = 0;             // the shell's `ulimit -v` (address space); 0: no limit
};
RunResult run_tinycnn(const std::vector<std::string>& args, const RunSetup& setup);

// Starts tinycnn in the background (stdout/stderr to the given files), under `launcher` if
// given; returns the pid (the launcher's).
int spawn_tinycnn(const std::vector<std::string>& args, const std::string& out_path,
                  const std::string& err_path, const std::vector<std::string>& launcher = {});
// Waits for a spawned process; returns its exit code, or 128 + signal.
int wait_exit(int pid);

// While it lives, `threads` threads of the test process spin, each wanting a core of its own:
// a process started meanwhile shares the cores with them (a busy machine, on purpose).
class BusyCores {
 public:
  explicit BusyCores(int threads);
  ~BusyCores();
  BusyCores(const BusyCores&) = delete;
  BusyCores& operator=(const BusyCores&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

// The number of '\n' in `text`.
int count_lines(const std::string& text);

// A fresh directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string write(const std::string& name, const std::string& contents) const;

 private:
  std::filesystem::path path_;
};

}  // namespace tinycnn::testing
