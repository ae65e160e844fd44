// Timing and the FMA peak probe.
#include "profile/timing.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/timer.hpp"

namespace tinycnn::profile {

TimingStats time_it(const std::function<void()>& fn, int warmup, int repeats, int threads) {
  for (int i = 0; i < warmup; ++i) fn();
  const runtime::ContentionWatch watch(threads);
  std::vector<double> ms;
  for (int i = 0; i < std::max(repeats, 1); ++i) {
    core::Stopwatch clock;
    fn();
    ms.push_back(clock.seconds() * 1e3);
  }
  std::sort(ms.begin(), ms.end());
  const size_t n = ms.size();
  const double median = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
  return {median, ms.front(), static_cast<int>(n), watch.stop()};
}

namespace {
// 256 independent FMA chains: 16 AVX-512 registers (32 AVX2 ones), enough to cover FMA latency
// x throughput (4 cycles x 2 per cycle). 64 (4 AVX-512 registers) read half the real peak.
constexpr int kChains = 256;

double fma_loop(int64_t iterations, float seed) {
  float acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = seed + static_cast<float>(i) * 1e-3f;
  const float a = 0.999999f, b = 1e-7f;
  for (int64_t it = 0; it < iterations; ++it) {
#pragma omp simd
    for (int i = 0; i < kChains; ++i) acc[i] = std::fma(acc[i], a, b);
  }
  double sum = 0;
  for (float v : acc) sum += v;
  return sum;
}
}  // namespace

Peak measure_peak_gflops(int threads) {
  // Chunks of FMAs until each trial has run >= 50 ms, so optimised builds get a steady figure
  // and unoptimised (sanitizer) builds still finish quickly.
  const int64_t chunk = 250'000;
  Peak best, best_busy;
  for (int trial = 0; trial < 3; ++trial) {
    double sink = 0;
    int64_t chunks = 0;
    const runtime::ContentionWatch watch(threads);
    core::Stopwatch clock;
    do {
#pragma omp parallel num_threads(threads) reduction(+ : sink)
      sink += fma_loop(chunk, static_cast<float>(omp_get_thread_num()));
      ++chunks;
    } while (clock.seconds() < 0.05);
    const double seconds = clock.seconds();
    const runtime::Contention contention = watch.stop();
    const double flops = 2.0 * kChains * static_cast<double>(chunk * chunks) * threads;
    if (sink == 0.0) continue;  // (never: sink keeps the loop alive)
    Peak& slot = contention.busy() ? best_busy : best;
    if (flops / seconds / 1e9 > slot.gflops) slot = {flops / seconds / 1e9, contention};
  }
  return best.gflops > 0 ? best : best_busy;
}

}  // namespace tinycnn::profile
