// Process runner for CLI tests: the command goes through /bin/sh with each argument quoted.
#include "run.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace tinycnn::testing {

namespace {
std::string quote(const std::string& s) {
  std::string out(1, '\'');
  for (char c : s) {
    if (c == '\'') {
      out.append("'\\''");
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}
std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("tinycnn-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& contents) const {
  const auto p = path_ / name;
  std::ofstream(p, std::ios::binary) << contents;
  return p.string();
}

RunResult run_tinycnn(const std::vector<std::string>& args) { return run_tinycnn(args, {}); }

RunResult run_tinycnn(const std::vector<std::string>& args, const RunSetup& setup) {
  TempDir dir;
  std::ostringstream command;
  if (setup.file_size_blocks > 0)
    command << "trap '' XFSZ; ulimit -f " << setup.file_size_blocks << "; ";
  if (setup.memory_kib > 0) command << "ulimit -v " << setup.memory_kib << "; ";
  for (const auto& l : setup.launcher) command << quote(l) << ' ';
  command << quote(TINYCNN_BIN);
  for (const auto& a : args) command << ' ' << quote(a);
  const std::string out =
      setup.stdout_path.empty() ? (dir.path() / "out").string() : setup.stdout_path;
  command << " >" << quote(out) << " 2>" << quote((dir.path() / "err").string()) << " </dev/null";
  const std::string cmd = command.str();
  const int status = std::system(cmd.c_str());
  if (status == -1) throw std::runtime_error("cannot run " + cmd);
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (setup.stdout_path.empty()) r.out = slurp(dir.path() / "out");
  r.err = slurp(dir.path() / "err");
  return r;
}

int spawn_tinycnn(const std::vector<std::string>& args, const std::string& out_path,
                  const std::string& err_path, const std::vector<std::string>& launcher) {
  std::vector<std::string> argv_storage = launcher;
  argv_storage.push_back(TINYCNN_BIN);
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("posix_spawn failed");
  return pid;
}

int wait_exit(int pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

BusyCores::BusyCores(int threads) {
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      volatile uint64_t x = 0;
      while (!stop_.load(std::memory_order_relaxed)) x = x + 1;
    });
  }
}

BusyCores::~BusyCores() {
  stop_ = true;
  for (auto& t : threads_) t.join();
}

int count_lines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace tinycnn::testing
