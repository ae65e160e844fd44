// How kernels split work across OpenMP threads: contiguous static blocks, so each thread's share
// (and therefore every result) depends only on the thread count.
#pragma once

#include <omp.h>

#include <cstdint>

namespace tinycnn::kernels {

// Below this many floats an elementwise pass is faster on one thread than waking a second.
inline constexpr int64_t kParallelMinElements = int64_t{1} << 15;

struct Block {
  int64_t begin, end;
};

// The calling thread's block of [0, count) inside a parallel region.
inline Block thread_block(int64_t count) {
  const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
  return {count * t / nt, count * (t + 1) / nt};
}

}  // namespace tinycnn::kernels
