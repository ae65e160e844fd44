#!/usr/bin/env bash
# clang-tidy over the library and the CLI (the checks and limits in .clang-tidy, with a larger
# function-size limit under src/kernels/), warnings as errors. Needs a configured build for its
# compile_commands.json (default build/release, which scripts/test.sh configures first).
# Usage: scripts/lint.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
[[ -f "$build/compile_commands.json" ]] || { echo "error: $build/compile_commands.json: configure first" >&2; exit 1; }
log="$build/lint.log"
# clang's -Wconversion also warns on sign conversions, which g++'s (the project's compiler) does not.
# A build in unity batches (the presets') lists each batch, not its sources: lint the batches
# of src/ and apps/ (the sources they include count as headers, under HeaderFilterRegex).
root=$(cd "$build" && pwd)
if ! run-clang-tidy -j "$(nproc)" -quiet -p "$build" -extra-arg=-Wno-sign-conversion \
    "$PWD/(src|apps)/.*\.cpp$" "$root/(src|apps)/.*/unity_[0-9]+_cxx\.cxx$" >"$log" 2>&1 ||
    grep -q 'error:' "$log"; then
  grep -E 'error:|note:' "$log" | head -50 >&2
  echo "error: clang-tidy found problems (all of them: $log)" >&2
  exit 1
fi
