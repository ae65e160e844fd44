// How kernels split work across OpenMP threads: contiguous static blocks, so each thread's share
// (and therefore every result) depends only on the thread count; and how per-thread partial sums
// are combined, in thread order, so a given thread count always gives the same bits.
#pragma once

#include <omp.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <vector>

#include "core/block.hpp"
#include "kernels/simd.hpp"

namespace tinycnn::kernels {

using core::kParallelMinElements;

using core::Block;

// The calling thread's block of [0, count) inside a parallel region.
inline Block thread_block(int64_t count) {
  return core::block(count, omp_get_thread_num(), omp_get_num_threads());
}

// Runs `body` on every thread of an OpenMP parallel region (one thread unless `parallel`) and
// rethrows on the calling thread the first exception a thread threw: an exception must not
// leave an OpenMP region (a failed allocation there would end the process with no error line).
// The regions run through here have no barrier, so the other threads finish their blocks.
template <class Body>
void parallel_region(const Body& body, bool parallel = true) {
  std::exception_ptr error;
#pragma omp parallel if (parallel)
  {
    try {
      body();
    } catch (...) {
#pragma omp critical(tinycnn_parallel_region_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

// out[i] = sum over threads t (in order) of the lanes of sums[t*per_thread + i], i < count.
void sum_lanes_in_thread_order(const simd::Vec* sums, int threads, int64_t per_thread,
                               int64_t count, float* out);

// Per-thread vector sums of a parallel reduction (the convolutions' dweight and dbias): each
// thread of a parallel region adds into its own slice of `per_thread` vectors; afterwards the
// slices are combined in thread order, so a given thread count always gives the same bits.
class ThreadSums {
 public:
  explicit ThreadSums(int64_t per_thread)
      : per_thread_(per_thread),
        sums_(static_cast<size_t>(omp_get_max_threads() * per_thread), simd::Vec{}) {}
  // Inside the parallel region: this thread's slice (and the team's size is noted).
  simd::Vec* mine() {
    threads_.store(omp_get_num_threads(), std::memory_order_relaxed);
    return sums_.data() + omp_get_thread_num() * per_thread_;
  }
  int threads() const { return threads_.load(std::memory_order_relaxed); }
  const simd::Vec& at(int thread, int64_t i) const {
    return sums_[static_cast<size_t>(thread * per_thread_ + i)];
  }
  // out[i] (i < per_thread): the lanes of every thread's slice[i], threads in order.
  void sum_lanes(float* out) const {
    sum_lanes_in_thread_order(sums_.data(), threads(), per_thread_, per_thread_, out);
  }

 private:
  int64_t per_thread_;
  std::vector<simd::Vec> sums_;
  std::atomic<int> threads_{1};
};

}  // namespace tinycnn::kernels
