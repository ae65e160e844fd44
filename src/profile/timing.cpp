// Timing and the ceilings' probes: the FMA peak and the triad's bandwidth.
#include "profile/timing.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "core/timer.hpp"
#include "kernels/bf16.hpp"

namespace tinycnn::profile {

double median(std::vector<double> samples) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  return n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
}

TimingStats time_it(const std::function<void()>& fn, int warmup, int repeats, int threads) {
  for (int i = 0; i < warmup; ++i) fn();
  const runtime::ContentionWatch watch(threads);
  std::vector<double> ms;
  for (int i = 0; i < std::max(repeats, 1); ++i) {
    core::Stopwatch clock;
    fn();
    ms.push_back(clock.seconds() * 1e3);
  }
  return {median(ms), *std::min_element(ms.begin(), ms.end()), static_cast<int>(ms.size()),
          watch.stop()};
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

// The best of three trials of `loop` (chunks of it until each trial has run >= 50 ms, so
// optimised builds get a steady figure and unoptimised, sanitizer, builds still finish
// quickly) on `threads` threads; flops_per_chunk counts one thread's chunk.
Peak best_of_trials(int threads, double (*loop)(int64_t, float), int64_t chunk,
                    double flops_per_chunk) {
  Peak best, best_busy;
  for (int trial = 0; trial < 3; ++trial) {
    double sink = 0;
    int64_t chunks = 0;
    const runtime::ContentionWatch watch(threads);
    core::Stopwatch clock;
    do {
#pragma omp parallel num_threads(threads) reduction(+ : sink)
      sink += loop(chunk, static_cast<float>(omp_get_thread_num()));
      ++chunks;
    } while (clock.seconds() < 0.05);
    const double seconds = clock.seconds();
    const runtime::Contention contention = watch.stop();
    const double flops = flops_per_chunk * static_cast<double>(chunks) * threads;
    if (sink == 0.0) continue;  // (never: sink keeps the loop alive)
    Peak& slot = contention.busy() ? best_busy : best;
    if (flops / seconds / 1e9 > slot.gflops) slot = {flops / seconds / 1e9, contention};
  }
  return best.gflops > 0 ? best : best_busy;
}
}  // namespace

Peak measure_peak_gflops(int threads) {
  const int64_t chunk = 250'000;
  return best_of_trials(threads, fma_loop, chunk, 2.0 * kChains * static_cast<double>(chunk));
}

Peak measure_bf16_peak_gflops(int threads) {
  const int64_t chunk = 100'000;
  return best_of_trials(threads, kernels::bf16_dot_loop, chunk,
                        static_cast<double>(kernels::kBf16DotFlops) * static_cast<double>(chunk));
}

namespace {
// One thread's part of the triad: its three arrays, touched first by the thread that uses them.
struct TriadPart {
  std::unique_ptr<float[]> a, b, c;
  int64_t n = 0;
};

void triad(TriadPart& p, float s) {
  float* __restrict a = p.a.get();
  const float* __restrict b = p.b.get();
  const float* __restrict c = p.c.get();
#pragma omp simd
  for (int64_t i = 0; i < p.n; ++i) a[i] = b[i] + s * c[i];
}
}  // namespace

Bandwidth measure_triad_gbps(int threads, int64_t bytes_per_thread) {
  const int64_t n = std::max<int64_t>(bytes_per_thread / 12, 16);
  std::vector<TriadPart> parts(static_cast<size_t>(threads));
#pragma omp parallel num_threads(threads)
  {
    TriadPart& p = parts[static_cast<size_t>(omp_get_thread_num())];
    p.n = n;
    p.a.reset(new float[static_cast<size_t>(n)]);
    p.b.reset(new float[static_cast<size_t>(n)]);
    p.c.reset(new float[static_cast<size_t>(n)]);
    for (int64_t i = 0; i < n; ++i) p.a[i] = 0, p.b[i] = 1, p.c[i] = static_cast<float>(i % 7);
  }
  // Each thread sweeps its part until the trial's 30 ms are over, independently (a fork and
  // join per sweep would measure the team's wake-up, not the memory, on a busy machine).
  Bandwidth best, best_busy;
  for (int trial = 0; trial < 3; ++trial) {
    std::vector<int64_t> sweeps(static_cast<size_t>(threads), 0);
    const runtime::ContentionWatch watch(threads);
    core::Stopwatch clock;
#pragma omp parallel num_threads(threads)
    {
      const auto t = static_cast<size_t>(omp_get_thread_num());
      do {
        triad(parts[t], 1.0f + static_cast<float>(sweeps[t] % 3) * 1e-3f);
        ++sweeps[t];
      } while (clock.seconds() < 0.03);
    }
    const double seconds = clock.seconds();
    const runtime::Contention contention = watch.stop();
    int64_t total = 0;
    for (int64_t k : sweeps) total += k;
    const double gbps = 12.0 * static_cast<double>(n * total) / seconds / 1e9;
    Bandwidth& slot = contention.busy() ? best_busy : best;
    if (gbps > slot.gbps) slot = {gbps, contention};
  }
  double check = 0;  // the results are read, so no sweep is dead code
  for (const auto& p : parts) check += p.a[static_cast<size_t>(p.n - 1)];
  if (!(check >= 0)) best.gbps = 0;
  return best.gbps > 0 ? best : best_busy;
}

bool Ceilings::busy() const {
  return fma.contention.busy() || bf16.contention.busy() || dram.contention.busy() ||
         l2.contention.busy();
}

Ceilings measure_ceilings(int threads) {
  Ceilings c;
  c.fma = measure_peak_gflops(threads);
  c.bf16 = measure_bf16_peak_gflops(threads);
  c.dram = measure_triad_gbps(threads, kTriadDramBytesPerThread);
  c.l2 = measure_triad_gbps(threads, kTriadL2BytesPerThread);
  return c;
}

}  // namespace tinycnn::profile
