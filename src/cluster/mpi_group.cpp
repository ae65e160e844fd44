// MPI's world as a Group (Debian's Open MPI), built with TINYCNN_MPI; without it, stubs that
// refuse a launch by mpirun.
#include "cluster/group.hpp"

#ifdef TINYCNN_MPI
#include <mpi.h>
#endif

namespace tinycnn::cluster {

#ifdef TINYCNN_MPI
namespace {
void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw core::Error(core::ErrorKind::Runtime, std::string("MPI: ") + what + ": " +
                                                  std::string(text, static_cast<size_t>(length)));
}

class World final : public Group {
 public:
  World() {
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "size");
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void sum(std::span<float> v) override {
    check(MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(v.size()), MPI_FLOAT, MPI_SUM,
                        MPI_COMM_WORLD),
          "allreduce");
  }
  void sum(std::span<double> v) override {
    check(MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(v.size()), MPI_DOUBLE, MPI_SUM,
                        MPI_COMM_WORLD),
          "allreduce");
  }
  uint64_t min(uint64_t value) override { return reduce(value, MPI_MIN); }
  uint64_t max(uint64_t value) override { return reduce(value, MPI_MAX); }

 private:
  uint64_t reduce(uint64_t value, MPI_Op op) {
    check(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_UINT64_T, op, MPI_COMM_WORLD), "allreduce");
    return value;
  }
  int rank_ = 0, size_ = 1;
};

World* world_ = nullptr;
}  // namespace

void mpi_init(int& argc, char**& argv) {
  int provided = 0;
  check(MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided), "init");
  // Errors come back as codes (and become exceptions) instead of aborting inside MPI.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  TCNN_CHECK_RUNTIME(provided >= MPI_THREAD_SERIALIZED,
                     "MPI: expected thread support MPI_THREAD_SERIALIZED, got level ", provided);
  world_ = new World();
}

void mpi_finalize() {
  if (!world_) return;
  delete world_;
  world_ = nullptr;
  MPI_Finalize();
}

Group* mpi_world() { return world_; }

void mpi_abort(int exit_code) { MPI_Abort(MPI_COMM_WORLD, exit_code); }
#else
void mpi_init(int&, char**&) {
  throw core::Error(core::ErrorKind::Invalid,
                    "started by an MPI launcher, but this tinycnn was built without MPI "
                    "(TINYCNN_MPI=OFF): run it without mpirun");
}
void mpi_finalize() {}
Group* mpi_world() { return nullptr; }
void mpi_abort(int) {}
#endif

}  // namespace tinycnn::cluster
