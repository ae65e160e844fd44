// A run's out dir, held by one process at a time: created if missing, locked with flock on
// ".tinycnn.lock" (the kernel releases the lock when the process ends, however it ends), the
// temporaries of dead processes cleared. A fresh run refuses a directory that holds another run
// unless it may replace it.
#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"

namespace tinycnn::run {

// A fresh run into a directory that holds another run's files, without permission to replace
// them (Invalid: the caller chooses resume, another directory, or replacing).
class ExistingRun : public core::Error {
 public:
  using core::Error::Error;
};

class RunDir {
 public:
  // Throws core::Error (Runtime) naming the directory when it cannot be created or another
  // process holds it (with that process's pid).
  explicit RunDir(std::string dir);
  ~RunDir();
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;

  const std::string& dir() const { return dir_; }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }
  // The run files the directory holds (checkpoint.safetensors, metrics.jsonl), by name.
  std::vector<std::string> run_files() const;
  // Throws ExistingRun when the directory holds run files and `replace` is false.
  void require_fresh(bool replace) const;

 private:
  std::string dir_;
  int lock_fd_ = -1;
};

}  // namespace tinycnn::run
