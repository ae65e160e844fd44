// Timing harness: warm-up runs, then repeats; median and min wall time in milliseconds.
// Also the machine's measured FMA peak, the yardstick for "% of peak".
#pragma once

#include <functional>

#include "runtime/contention.hpp"

namespace tinycnn::profile {

struct TimingStats {
  double median_ms = 0;
  double min_ms = 0;
  int repeats = 0;
  runtime::Contention contention;  // over the timed repeats (contention.hpp): busy when shared
};

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

}  // namespace tinycnn::profile
