// Thread-ordered reduction of per-thread vector sums.
#include "kernels/parallel.hpp"

namespace tinycnn::kernels {

void sum_lanes_in_thread_order(const simd::Vec* sums, int threads, int64_t per_thread,
                               int64_t count, float* out) {
  // Each out[i] is summed by one thread in the fixed order: the same bits at any thread count.
#pragma omp parallel for schedule(static) if (count * simd::kLanes >= kParallelMinElements)
  for (int64_t i = 0; i < count; ++i) {
    float total = 0.0f;
    for (int t = 0; t < threads; ++t) total += simd::sum(sums[t * per_thread + i]);
    out[i] = total;
  }
}

}  // namespace tinycnn::kernels
