#!/usr/bin/env bash
# A busy core: a LeNet-5 epoch (20,000 images; the median of epochs 2-4) with the default thread
# count and with --threads 1, on the quiet machine and with a process of its own spinning on
# core 1 (started and stopped here). Prints the epoch times and the ratio default / --threads 1
# in each case.
# Usage: bench/contention.sh [CONFIG] [train options]   (needs MNIST: data/fetch_mnist.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
config="${1:-configs/lenet5.json}"; shift || true
bin=build/release/apps/tinycnn/tinycnn
out=$(mktemp -d)
spinner=
cleanup() { [[ -n "$spinner" ]] && kill "$spinner" 2>/dev/null; rm -rf "$out"; }
trap cleanup EXIT

epoch() {  # threads-flag... -> the median seconds of epochs 2-4 (the first pays for page faults)
  "$bin" "$@" train "$config" --epochs 4 --limit-train 20000 --limit-test 1000 --out "$out/run" \
      --force --json "${extra[@]}" 2>/dev/null |
    python3 -c 'import json, statistics, sys; print(statistics.median(json.load(sys.stdin)["epoch_seconds"][1:]))'
}

extra=("$@")
report() {
  local default one
  default=$(epoch) one=$(epoch --threads 1)
  python3 -c "print(f'$1: default threads {float($default):.2f} s, --threads 1 {float($one):.2f} s, ratio {float($default)/float($one):.2f}')"
}
report "quiet machine      "
taskset -c 1 bash -c 'while :; do :; done' &
spinner=$!
report "one core kept busy "
