// What a held team's job costs beyond its work: two threads each run a fixed amount of arithmetic
// and meet at the job's end. "Policy" lets the team wait as it would (spinning on a quiet
// machine); "Sleeping" keeps the contention gauge on, so every wait takes the path a contended
// machine takes. bench/team_wakeup.sh runs both beside nice-19 spinners.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>

#include "runtime/team.hpp"

namespace {

using tinycnn::runtime::Crew;
using tinycnn::runtime::Team;

// About `units` × 4 cycles of dependent arithmetic (no memory traffic).
double work(int64_t units) {
  double x = 1.0;
  for (int64_t i = 0; i < units; ++i) {
    x = x * 0.999999 + 1e-7;
    benchmark::DoNotOptimize(x);
  }
  return x;
}

void run_jobs(benchmark::State& state, bool sleeping) {
  const int64_t units = state.range(0);
  int64_t contended_jobs = 0;
  Team::hold(2, [&] {
    Team* team = Team::current();
    if (!team || team->size() < 2) {
      state.SkipWithError("no team of two threads");
      return;
    }
    const tinycnn::runtime::Job job = [&](const Crew&) { benchmark::DoNotOptimize(work(units)); };
    for (auto _ : state) {
      if (sleeping) {
        for (int i = 0; i < 4; ++i) tinycnn::runtime::observe_contention(true);
      }
      if (tinycnn::runtime::machine_contended()) ++contended_jobs;
      team->run(job, 2);
    }
  });
  tinycnn::runtime::clear_contention();
  state.counters["contended"] =
      benchmark::Counter(static_cast<double>(contended_jobs) /
                         static_cast<double>(std::max<int64_t>(state.iterations(), 1)));
}

void BM_TeamJobPolicy(benchmark::State& state) { run_jobs(state, false); }
void BM_TeamJobSleeping(benchmark::State& state) { run_jobs(state, true); }
// A job alone on the calling thread: the work without any wait.
void BM_TeamJobWorkOnly(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(work(state.range(0)));
}

BENCHMARK(BM_TeamJobPolicy)
    ->Arg(0)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_TeamJobSleeping)
    ->Arg(0)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_TeamJobWorkOnly)
    ->Arg(0)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
