#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is missing, build tinycnn (release),
# and show what it can do. (Until `tinycnn train` lands this ends at the build and --help.)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release >/dev/null
if ! cmake --build --preset release --target tinycnn_cli >build/release/build.log 2>&1; then
  cat build/release/build.log >&2
  echo "error: build failed" >&2
  exit 1
fi
./build/release/apps/tinycnn/tinycnn --help
