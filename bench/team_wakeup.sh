#!/usr/bin/env bash
# What a held team's job costs beyond its work (bench/team_bench.cpp), on the quiet machine, with
# a nice-19 process spinning on each core, with one on core 1 only, and with a nice-0 process on
# core 1 (each started and stopped here). "Sleeping" rows keep the contention gauge on, so every
# wait is the sleeping wait a contended machine gets; "Policy" rows wait as the gauge says.
# Usage: bench/team_wakeup.sh [extra Google Benchmark options]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/bench/bench/tinycnn_bench
spinners=()
stop_spinners() {
  for pid in "${spinners[@]}"; do kill "$pid" 2>/dev/null || true; done
  spinners=()
}
trap stop_spinners EXIT
spin() {  # nice core
  nice -n "$1" taskset -c "$2" bash -c 'while :; do :; done' &
  spinners+=($!)
}
measure() {
  echo "== $1"
  "$bin" --benchmark_filter='BM_TeamJob' --benchmark_repetitions=3 \
      --benchmark_report_aggregates_only=true "${@:2}" 2>/dev/null | grep -E '_median' |
    sed -E 's/ +/ /g'
}
measure "quiet machine" "$@"
spin 19 0; spin 19 1
measure "a nice-19 process on each core" "$@"
stop_spinners
spin 19 1
measure "a nice-19 process on core 1" "$@"
stop_spinners
spin 0 1
measure "a nice-0 process on core 1" "$@"
