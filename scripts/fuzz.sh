#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz`: clang, ASan + UBSan) and runs each for SECONDS
# (default 60) on a scratch copy of its seed corpus in tests/fuzz/corpus/. Any crash, leak,
# timeout or sanitizer report fails; the reproducer is left in build/fuzz/findings/.
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"

bash scripts/install-deps.sh clang libclang-rt-14-dev libomp-dev
cmake --preset fuzz >/dev/null
log=build/fuzz/build.log
if ! cmake --build --preset fuzz >"$log" 2>&1; then
  cat "$log" >&2
  echo "error: fuzz build failed (log: $log)" >&2
  exit 1
fi
mkdir -p build/fuzz/findings
# One target's run; its log in build/fuzz/TARGET.log, a finding left in build/fuzz/findings/.
fuzz_one() {
  local target=$1 work="build/fuzz/corpus-$1"
  rm -rf "$work"
  cp -r "tests/fuzz/corpus/$target" "$work"
  ./build/fuzz/tests/fuzz/fuzz_$target "$work" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix=build/fuzz/findings/$target- -print_final_stats=0 \
    >"build/fuzz/$target.log" 2>&1
}
# One target per core at a time: each still runs SECONDS on a core of its own.
targets=(config safetensors idx metrics datasets int8)
jobs=$(nproc)
for ((i = 0; i < ${#targets[@]}; i += jobs)); do
  batch=("${targets[@]:i:jobs}")
  pids=()
  for target in "${batch[@]}"; do
    echo "== fuzz_$target: ${seconds} s" >&2
    fuzz_one "$target" &
    pids+=($!)
  done
  for k in "${!batch[@]}"; do
    target=${batch[$k]}
    if ! wait "${pids[$k]}"; then
      tail -40 "build/fuzz/$target.log" >&2
      echo "error: fuzz_$target found a problem (see build/fuzz/findings/)" >&2
      exit 1
    fi
    grep -E '^#[0-9]+ *DONE' "build/fuzz/$target.log" >&2 || tail -1 "build/fuzz/$target.log" >&2
  done
done
