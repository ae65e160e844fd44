// Timing harness: warm-up runs, then repeats; median and min wall time in milliseconds.
// Also the machine's measured FMA peak, the yardstick for "% of peak".
#pragma once

#include <functional>

namespace tinycnn::profile {

struct TimingStats {
  double median_ms = 0;
  double min_ms = 0;
  int repeats = 0;
};

TimingStats time_it(const std::function<void()>& fn, int warmup, int repeats);

// Peak single-precision GFLOP/s of `threads` threads, measured with an FMA-only loop
// (independent accumulators, as wide as the compiler vectorises). Takes about 0.2 s.
double measure_peak_gflops(int threads);

}  // namespace tinycnn::profile
