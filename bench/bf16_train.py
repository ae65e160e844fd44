#!/usr/bin/python3
"""Mixed precision against float32 in one run: `tinycnn train CONFIG` in float32 and in bf16
(`--precision`), and PyTorch's float32 training of the same model (bench/pytorch_train.py),
taking turns for --rounds rounds. Reports each setting's median training throughput over the
epochs after the first (images/s of the training pass), its peak RSS, its final test accuracy,
and the ratios.

Usage:
  /usr/bin/python3 bench/bf16_train.py --config configs/resnet20_cifar10.json --data /tmp/cifar \\
      --epochs 3 --limit-train 5120 --limit-test 512
(random CIFAR-shaped data: bench/make_random_cifar.py DIR)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default=os.path.join(ROOT, "configs/resnet20_cifar10.json"))
    p.add_argument("--data", help="the data set's folder (default: the config's)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--limit-train", type=int, default=0)
    p.add_argument("--limit-test", type=int, default=0)
    p.add_argument("--tinycnn", default=os.path.join(ROOT, "build/release/apps/tinycnn/tinycnn"))
    p.add_argument("--python", default="/usr/bin/python3")
    p.add_argument("--no-pytorch", action="store_true")
    return p.parse_args()


def limits(a):
    out = ["--limit-train", str(a.limit_train)] if a.limit_train else []
    return out + (["--limit-test", str(a.limit_test)] if a.limit_test else [])


def data(a):
    return ["--data", a.data] if a.data else []


def later_epochs(values):
    return statistics.median(values[1:] if len(values) > 1 else values)


def run_tinycnn(a, precision):
    with tempfile.TemporaryDirectory(prefix="tinycnn-bf16-") as out:
        cmd = [a.tinycnn, "train", a.config, "--epochs", str(a.epochs), "--precision", precision,
               "--out", out, "--json"] + data(a) + limits(a)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.exit(f"error: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        with open(os.path.join(out, "metrics.jsonl")) as f:
            ips = [json.loads(line)["images_per_second"] for line in f]
    return {"ips": later_epochs(ips), "rss_mib": summary["peak_rss_bytes"] / 2**20,
            "test_acc": summary["final_test_accuracy"]}


def run_pytorch(a):
    cmd = [a.python, os.path.join(ROOT, "bench/pytorch_train.py"), "--config", a.config,
           "--epochs", str(a.epochs)] + data(a) + limits(a)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    doc = json.loads([line for line in proc.stdout.splitlines() if line.startswith("JSON ")][-1][5:])
    ips = [e["images"] / e["train_s"] for e in doc["per_epoch"]]
    return {"ips": later_epochs(ips), "rss_mib": doc["peak_rss_kib"] / 1024,
            "test_acc": doc["final_test_acc"]}


def main():
    a = parse_args()
    runs = {"float32": [], "bf16": [], "pytorch": []}
    for r in range(a.rounds):
        for name in ("float32", "bf16"):
            runs[name].append(run_tinycnn(a, name))
            print(f"round {r + 1} {name}: {runs[name][-1]}", flush=True)
        if not a.no_pytorch:
            runs["pytorch"].append(run_pytorch(a))
            print(f"round {r + 1} pytorch float32: {runs['pytorch'][-1]}", flush=True)
    med = {k: {f: statistics.median(x[f] for x in v) for f in ("ips", "rss_mib", "test_acc")}
           for k, v in runs.items() if v}
    f32, bf = med["float32"], med["bf16"]
    print(f"tinycnn float32 {f32['ips']:.0f} img/s, bf16 {bf['ips']:.0f} img/s: "
          f"bf16 {bf['ips'] / f32['ips']:.2f}x float32; peak RSS {f32['rss_mib']:.0f} -> "
          f"{bf['rss_mib']:.0f} MiB ({bf['rss_mib'] / f32['rss_mib']:.2f}x)")
    if "pytorch" in med:
        pt = med["pytorch"]
        print(f"PyTorch float32 {pt['ips']:.0f} img/s: tinycnn bf16 {bf['ips'] / pt['ips']:.2f}x, "
              f"tinycnn float32 {f32['ips'] / pt['ips']:.2f}x; PyTorch peak RSS "
              f"{pt['rss_mib']:.0f} MiB")
    print("JSON " + json.dumps(med))


if __name__ == "__main__":
    main()
