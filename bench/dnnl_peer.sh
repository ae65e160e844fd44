#!/usr/bin/env bash
# tinycnn's convolutions beside oneDNN's (bench/dnnl_peer_bench.cpp) at 1 and 2 threads: one
# line per direction, shape and implementation, the median of 3 repetitions, with what each ran.
# Usage: bench/dnnl_peer.sh [extra Google Benchmark options]   (after: cmake --build --preset bench)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/bench/bench/tinycnn_dnnl_peer
for threads in 1 2; do
  echo "== $threads thread(s)"
  OMP_NUM_THREADS=$threads "$bin" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
      "$@" 2>/dev/null | grep -E '_median|ERROR' | sed -E 's/ +/ /g; s/\/real_time_median//'
done
