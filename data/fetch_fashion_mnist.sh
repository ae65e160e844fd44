#!/usr/bin/env bash
# Installs Fashion-MNIST from Debian's package dataset-fashion-mnist (the four gzip IDX files in
# /usr/share/datasets/fashion-mnist/, which tinycnn reads where they are: training.dataset
# "fashion-mnist") and checks the SHA-256 of each decompressed file against
# data/FASHION_SHA256SUMS. Idempotent: silent when the package is there and the files are right.
# Usage: data/fetch_fashion_mnist.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir=/usr/share/datasets/fashion-mnist
bash "$here/../scripts/install-deps.sh" dataset-fashion-mnist
while read -r sum name; do
  got="$(gzip -dc "$dir/$name.gz" | sha256sum | cut -d' ' -f1)"
  if [[ "$got" != "$sum" ]]; then
    echo "error: $dir/$name.gz: SHA-256 of the decompressed file is $got, expected $sum" >&2
    exit 1
  fi
done <"$here/FASHION_SHA256SUMS"
