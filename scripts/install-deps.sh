#!/usr/bin/env bash
# Installs the Debian 12 packages tinycnn needs, only those missing; silent when none are.
# Usage: scripts/install-deps.sh [extra-package ...]   (run as root, or with sudo available)
set -euo pipefail

# libdnnl-dev: oneDNN, the convolution peer bench/ measures against; its CMake config needs
# OpenCL's development files (Debian builds oneDNN with its OpenCL runtime): ocl-icd-opencl-dev.
packages=(g++ cmake ninja-build pkg-config libcli11-dev nlohmann-json3-dev libspdlog-dev
          libgtest-dev libbenchmark-dev libopenblas-openmp-dev libstb-dev zlib1g-dev
          libonnx-dev libprotobuf-dev libdnnl-dev ocl-icd-opencl-dev "$@")
missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "error: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq >/dev/null
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
