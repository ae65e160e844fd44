// The group of one, the launcher check and the agreement; MPI's group is in mpi_group.cpp.
#include "cluster/group.hpp"

#include <cstdlib>

namespace tinycnn::cluster {

namespace {
class Alone final : public Group {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void sum(std::span<float>) override {}
  void sum(std::span<double>) override {}
  uint64_t min(uint64_t value) override { return value; }
  uint64_t max(uint64_t value) override { return value; }
};
}  // namespace

Group* mpi_world();  // mpi_group.cpp: null unless MPI was initialised
void mpi_init(int& argc, char**& argv);
void mpi_finalize();
void mpi_abort(int exit_code);

namespace {
bool shared_failure = false;
}  // namespace

bool failure_is_shared() { return shared_failure; }

void abort_job(int exit_code) {
  if (mpi_world()) mpi_abort(exit_code);
}

void fail_together(Group& group, core::ErrorKind kind, const std::string& message) {
  shared_failure = true;
  if (group.rank() == 0) throw core::Error(kind, message);
  throw ReportedElsewhere(kind, 0);
}

bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

void init(int& argc, char**& argv) {
  if (launched_by_mpi()) mpi_init(argc, argv);
}

void finalize() { mpi_finalize(); }

Group& world() {
  static Alone alone;
  Group* mpi = mpi_world();
  return mpi ? *mpi : alone;
}

ReportedElsewhere::ReportedElsewhere(core::ErrorKind kind, int reporting_rank)
    : core::Error(kind, "rank " + std::to_string(reporting_rank) + " reported the error"),
      reporting_rank_(reporting_rank) {}

void agree(Group& group, const std::exception_ptr& error) {
  if (group.size() == 1) {
    if (error) std::rethrow_exception(error);
    return;
  }
  // Each rank's (rank, kind) as one number; the smallest is the lowest failing rank.
  uint64_t mine = UINT64_MAX;
  if (error) {
    core::ErrorKind kind = core::ErrorKind::Runtime;
    try {
      std::rethrow_exception(error);
    } catch (const core::Error& e) {
      kind = e.kind();
    } catch (...) {
    }
    mine = static_cast<uint64_t>(group.rank()) * 2 + (kind == core::ErrorKind::Invalid ? 0 : 1);
  }
  const uint64_t first = group.min(mine);
  if (first == UINT64_MAX) return;
  shared_failure = true;
  if (error && first == mine) std::rethrow_exception(error);
  throw ReportedElsewhere(first % 2 == 0 ? core::ErrorKind::Invalid : core::ErrorKind::Runtime,
                          static_cast<int>(first / 2));
}

}  // namespace tinycnn::cluster
