#!/usr/bin/env bash
# Training across processes on this machine: for a config, one epoch's time (the median of the
# epochs after the first), the allreduce time per step and the gradient bytes per step, for
# 1 rank x 1 thread, 2 ranks x 1 thread (mpirun) and 1 rank x 2 threads. Runs one after the
# other, so that the settings do not share the cores.
# Usage: bench/mpi_scaling.sh CONFIG [train options, e.g. --limit-train 10000]
set -euo pipefail
cd "$(dirname "$0")/.."
config="$1"; shift
bin=build/release/apps/tinycnn/tinycnn
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

run() {  # label, launcher..., -- , threads
  local label="$1" threads="$2"; shift 2
  "$@" "$bin" --threads "$threads" train "$config" --out "$out/$label" --force --json \
      --epochs 3 "${extra[@]}" >"$out/$label.json" 2>"$out/$label.err"
  python3 - "$label" "$out/$label.json" "$out/$label.err" <<'PY'
import json, re, statistics, sys
label, doc, err = sys.argv[1:]
d = json.load(open(doc))
epochs = d["epoch_seconds"][1:] or d["epoch_seconds"]
ms = [float(m) for m in re.findall(r"allreduce ([0-9.]+) ms per step", open(err).read())]
grad = re.findall(r"\(([0-9]+) bytes of gradients\)", open(err).read())
print(f"{label:<22} {statistics.median(epochs):8.2f} s/epoch   test acc {100*d['final_test_accuracy']:.2f}%"
      + (f"   allreduce {statistics.median(ms):.2f} ms/step, {grad[0]} B/step" if ms else ""))
PY
}

extra=("$@")
run "1 rank x 1 thread" 1
run "2 ranks x 1 thread" 1 mpirun --oversubscribe -np 2
run "1 rank x 2 threads" 2
