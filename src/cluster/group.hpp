// The processes of one training job (docs/distributed.md). A process started by `mpirun` (and
// built with TINYCNN_MPI) joins MPI's world; any other process is rank 0 of a group of one,
// never initialises MPI, and every collective is a no-op. Collectives are called by every rank
// in the same order, from one thread at a time (MPI_THREAD_SERIALIZED).
#pragma once

#include <cstdint>
#include <exception>
#include <span>
#include <string>

#include "core/error.hpp"

namespace tinycnn::cluster {

class Group {
 public:
  virtual ~Group() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Element-wise sums over the ranks, the same bits on every rank.
  virtual void sum(std::span<float> values) = 0;
  virtual void sum(std::span<double> values) = 0;
  // The smallest and the largest of one value over the ranks.
  virtual uint64_t min(uint64_t value) = 0;
  virtual uint64_t max(uint64_t value) = 0;
};

// Whether this process was started by an MPI launcher (its environment says so).
bool launched_by_mpi();
// Joins MPI's world when launched by MPI; throws when launched by MPI in a build without it.
// Call once, first thing in main; finalize() at the end of a clean run.
void init(int& argc, char**& argv);
void finalize();
// The job's group: MPI's world after init() under a launcher, else a group of one.
Group& world();

// An error another rank reports: the process exits with `exit_code` and prints nothing, so a
// failure every rank sees is one `error:` line, from the lowest failing rank.
class ReportedElsewhere : public core::Error {
 public:
  ReportedElsewhere(core::ErrorKind kind, int reporting_rank);
  int reporting_rank() const { return reporting_rank_; }

 private:
  int reporting_rank_;
};

// After each rank's setup (validation, loading; no collective inside it), with the error it
// ended in or null: when any rank failed, the lowest failing rank rethrows its own error and the
// others throw ReportedElsewhere of its kind.
void agree(Group& group, const std::exception_ptr& error);

// A failure every rank detects at the same point (a collective's result): rank 0 throws
// core::Error with `message`, the others ReportedElsewhere.
[[noreturn]] void fail_together(Group& group, core::ErrorKind kind, const std::string& message);

// Whether the error being handled was seen by every rank (agree, fail_together): then each rank
// can end cleanly; any other error on one rank of several must end the whole job (abort()).
bool failure_is_shared();
// Ends every rank of the job now with `exit_code` (MPI_Abort); returns when alone.
void abort_job(int exit_code);

}  // namespace tinycnn::cluster
