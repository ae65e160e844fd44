// Timing harness: warm-up runs, then repeats; median and min wall time in milliseconds.
// Also the machine's measured ceilings: the FMA peak, the yardstick for "% of peak", and the
// memory bandwidth of a STREAM-like triad from DRAM and from L2 (the roofline's slopes).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "runtime/contention.hpp"

namespace tinycnn::profile {

struct TimingStats {
  double median_ms = 0;
  double min_ms = 0;
  int repeats = 0;
  runtime::Contention contention;  // over the timed repeats (contention.hpp): busy when shared
};

// The median of samples (0 for none).
double median(std::vector<double> samples);

// `threads`: how many threads `fn` runs on (for the run-queue wait's share).
TimingStats time_it(const std::function<void()>& fn, int warmup, int repeats, int threads = 1);

struct Peak {
  double gflops = 0;
  runtime::Contention contention;  // of the trial the figure comes from
};

// Peak single-precision GFLOP/s of `threads` threads, measured with an FMA-only loop
// (independent accumulators, as wide as the compiler vectorises): the best of three trials
// that had the cores to themselves, or, when every trial was shared, the best of those with
// its contention (busy). About 0.2 s.
Peak measure_peak_gflops(int threads);
// The same for the bf16 products (kernels/bf16.hpp's probe: vdpbf16ps where the CPU has
// AVX512-BF16, else the portable path's two FMAs per pair), counted as 4 FLOPs per pair.
Peak measure_bf16_peak_gflops(int threads);

struct Bandwidth {
  double gbps = 0;  // 1e9 bytes per second
  runtime::Contention contention;
};

// The triad a[i] = b[i] + s * c[i] over float arrays of `bytes_per_thread` (the three together)
// per thread, each thread on the part it first touched, counted as STREAM counts it: 12 bytes
// per element (two reads, one write; the cache's read of the written line is not counted).
// The best of the trials, as measure_peak_gflops chooses; each trial runs >= 30 ms.
Bandwidth measure_triad_gbps(int threads, int64_t bytes_per_thread);
// The sizes the roofline's two slopes use: far larger than any cache, and inside a 1 MiB L2
// (but beyond a 48 KiB L1).
inline constexpr int64_t kTriadDramBytesPerThread = int64_t{192} << 20;
inline constexpr int64_t kTriadL2BytesPerThread = int64_t{384} << 10;

// The three ceilings, measured one after the other on `threads` threads (about 0.5 s).
struct Ceilings {
  Peak fma;
  Peak bf16;  // the bf16 products' peak (the roofline's second ceiling)
  Bandwidth dram, l2;
  bool busy() const;
};
Ceilings measure_ceilings(int threads);

}  // namespace tinycnn::profile
