#!/usr/bin/env bash
# The whole test suite: installs what is missing, checks the formatting and that includes
# between the library's rooms follow docs/design.md's table, runs clang-tidy, then builds (warnings
# are errors) and runs every test twice — a release build, and a Debug build under
# AddressSanitizer + UBSan (preset `dev`).
# Usage: scripts/test.sh            (both)      scripts/test.sh release|dev   (one)
set -euo pipefail
cd "$(dirname "$0")/.."

# The ONNX export tests run models in OpenCV; the MPI tests run mpirun on loopback.
bash scripts/install-deps.sh python3-opencv libopenmpi-dev openmpi-bin clang-tidy
bash scripts/check-format.sh
python3 scripts/check-includes.py
presets=("${@:-release dev}")
for preset in ${presets[*]}; do
  echo "== $preset: build" >&2
  cmake --preset "$preset" -DTINYCNN_WERROR=ON -DTINYCNN_MPI=ON >/dev/null
  if [[ "$preset" == release ]]; then
    echo "== lint (clang-tidy)" >&2
    bash scripts/lint.sh "build/$preset"
  fi
  log="build/$preset/build.log"
  if ! cmake --build --preset "$preset" >"$log" 2>&1; then
    cat "$log" >&2
    echo "error: $preset build failed (log: $log)" >&2
    exit 1
  fi
  echo "== $preset: test" >&2
  ctest --preset "$preset" --timeout 600
done
