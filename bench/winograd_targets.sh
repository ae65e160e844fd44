#!/usr/bin/env bash
# The Winograd / auto / roofline targets (docs/performance.md) measured in one run, one command
# after the other: ResNet-20 and resnet_fashion against PyTorch with conv_algo auto, LeNet-5
# against PyTorch, a busy core for LeNet-5 and lenet5_bn, ResNet-20's conv layers per direction
# (with the roofline), and the oneDNN peer.
# Usage: bench/winograd_targets.sh CIFAR_DIR [OUT_DIR]
#   CIFAR_DIR: CIFAR-10-shaped files (python3 bench/make_random_cifar.py CIFAR_DIR);
#   OUT_DIR (default: a temporary one): profile's JSON and roofline.
# Needs MNIST, Fashion-MNIST, Debian's python3-torch, and the release and bench presets built.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -ge 1 ]] || { echo "usage: bench/winograd_targets.sh CIFAR_DIR [OUT_DIR]" >&2; exit 2; }
cifar="$1"
out="${2:-$(mktemp -d)}"
mkdir -p "$out"
for name in resnet20_cifar10 resnet_fashion; do  # the shipped configs with conv_algo auto
  python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); c["training"]["conv_algo"] = "auto"; json.dump(c, open(sys.argv[2], "w"))' \
    "configs/$name.json" "$out/$name-auto.json"
done
date; cat /proc/loadavg
/usr/bin/python3 bench/compare_pytorch.py --config "$out/resnet20_cifar10-auto.json" --data "$cifar" \
  --limit-train 5120 --limit-test 1000 --epochs 2 --rounds 1
/usr/bin/python3 bench/compare_pytorch.py --config "$out/resnet_fashion-auto.json" \
  --limit-train 10000 --limit-test 2000 --epochs 2 --rounds 1
/usr/bin/python3 bench/compare_pytorch.py --epochs 2 --rounds 2
bash bench/contention.sh
bash bench/contention.sh configs/lenet5_bn.json
build/release/apps/tinycnn/tinycnn profile --conv --config "$out/resnet20_cifar10-auto.json" --batch 64 \
  --repeats 5 --roofline "$out/conv_roofline.svg" --json >"$out/conv.json"
echo "profile --conv: $out/conv.json, $out/conv_roofline.svg"
bash bench/dnnl_peer.sh --benchmark_min_time=0.2
date
