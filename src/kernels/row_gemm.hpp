// GEMM over rows gathered by offset: the one inner loop of both fast convolutions.
//   rows_gemm:   C[m][q] = init[m] + sum_t A[t*lda + m] * B[off[t] + q]
//   rows_gemm_t: S[m][t] += sum_q D[m*ldd + q] * B[off[t] + q]
// Row t of the B operand starts at B + off[t]: for im2col that is row t of the column matrix
// (off[t] = t*ld); for the implicit path a shifted window of the padded image, rows overlapping.
// q runs over whole blocks: nq must be a multiple of kRowBlock (callers pad their rows with
// zeros or throw-away columns), and B + off[t] + nq must stay inside B's allocation.
// S holds one vector per (m, t): a thread keeps adding images into it and sums the lanes once.
#pragma once

#include <omp.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "kernels/simd.hpp"

namespace tinycnn::kernels {

inline constexpr int64_t kRowBlock = 3 * simd::kLanes;

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

void rows_gemm(int64_t rows, const float* a, int64_t lda, const float* b, const int64_t* off,
               int64_t taps, const float* init, float* c, int64_t ldc, int64_t nq);

// Several images at once for rows_gemm_t: image i's D and B are d + i*d_stride, b + i*b_stride.
struct ImageBatch {
  int64_t count = 1;
  int64_t d_stride = 0, b_stride = 0;
};

void rows_gemm_t(int64_t rows, const float* d, int64_t ldd, const float* b, const int64_t* off,
                 int64_t taps, int64_t nq, simd::Vec* s, ImageBatch batch = {});

// For each of `groups` [rows, cols] matrices at a, its transpose [cols, rows], one after another:
// conv weights [OC, taps] per group -> A operands [taps, OC].
std::vector<float> transpose_groups(const float* a, int64_t groups, int64_t rows, int64_t cols);

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
