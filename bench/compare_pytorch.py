#!/usr/bin/env python3
"""tinycnn vs PyTorch on a config (default LeNet-5 / MNIST), measured in one run on this machine.

Runs, alternately, `tinycnn train CONFIG` and (when Debian's python3-torch is installed) the
same model in PyTorch — bench/pytorch_lenet5.py for configs/lenet5.json, bench/pytorch_train.py
(any config: residual blocks, batch norm, augmentation) otherwise — each for --epochs epochs,
--rounds times; then tinycnn once more on one thread. Prints per-run epoch
times, and the ratios from medians over all epochs of all rounds: PyTorch time / tinycnn time
(> 1: tinycnn is faster), 1-thread time / 2-thread time, eval times and peak RSS.
The machines are shared and noisy: compare only numbers from the same run.

Usage: bench/compare_pytorch.py [--config configs/resnet_fashion.json] [--epochs 2] [--rounds 2]
       [--limit-train N] [--limit-test N] [--tinycnn build/release/apps/tinycnn/tinycnn]
Exit 0 also when PyTorch is missing (its columns say "skipped").
Only the standard library: runs with any python3 (PyTorch itself needs Debian's /usr/bin/python3).
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
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--tinycnn", default=os.path.join(ROOT, "build/release/apps/tinycnn/tinycnn"))
    p.add_argument("--config", default=os.path.join(ROOT, "configs/lenet5.json"))
    p.add_argument("--data", help="the data set's folder (default: the config's)")
    p.add_argument("--limit-train", type=int, default=0)
    p.add_argument("--limit-test", type=int, default=0)
    p.add_argument("--pytorch-script", help="default: pytorch_lenet5.py for lenet5.json, "
                   "else pytorch_train.py")
    p.add_argument("--python", default="/usr/bin/python3",
                   help="the interpreter that has torch (Debian's python3-torch)")
    a = p.parse_args()
    a.lenet5 = os.path.basename(a.config) == "lenet5.json"
    if not a.pytorch_script:
        a.pytorch_script = os.path.join(ROOT, "bench",
                                        "pytorch_lenet5.py" if a.lenet5 else "pytorch_train.py")
    if a.lenet5 and not a.data:
        a.data = os.path.join(ROOT, "data/mnist")
    return a


def limits(a):
    out = []
    if a.limit_train:
        out += ["--limit-train", str(a.limit_train)]
    if a.limit_test:
        out += ["--limit-test", str(a.limit_test)]
    return out


def run_tinycnn(a, threads):
    with tempfile.TemporaryDirectory(prefix="tinycnn-bench-") as out:
        cmd = [a.tinycnn, "--threads", str(threads), "train", a.config, "--epochs", str(a.epochs),
               "--out", out, "--json"] + (["--data", a.data] if a.data else []) + limits(a)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.exit(f"error: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"train_s": summary["epoch_seconds"], "eval_s": summary["eval_seconds"],
            "ips": summary["train_images_per_second"],
            "rss_mib": summary["peak_rss_bytes"] / 2**20,
            "test_acc": summary["final_test_accuracy"]}


def torch_available(a):
    if not (os.path.exists(a.python) and os.path.exists(a.pytorch_script)):
        return False
    probe = subprocess.run([a.python, "-c", "import torch"], capture_output=True, check=False)
    return probe.returncode == 0


def run_pytorch(a):
    cmd = [a.python, a.pytorch_script, "--epochs", str(a.epochs), "--threads", "2"]
    cmd += ["--data", a.data] if a.data else []
    cmd += [] if a.lenet5 else ["--config", a.config] + limits(a)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    line = next(l for l in proc.stdout.splitlines() if l.startswith("JSON "))
    s = json.loads(line[5:])
    return {"train_s": [e["train_s"] for e in s["per_epoch"]],
            "eval_s": [e["eval_s"] for e in s["per_epoch"]],
            "rss_mib": s["peak_rss_kib"] / 1024, "test_acc": s["final_test_acc"]}


TORCH_CONV = r"""
import json, statistics, time, torch
torch.manual_seed(0)
torch.set_num_threads(2)
conv = torch.nn.Conv2d(6, 16, 5)
x = torch.randn(64, 6, 14, 14, requires_grad=True)
g = torch.randn(64, 16, 10, 10)
fwd, both = [], []
for i in range(60):
    t0 = time.perf_counter()
    y = conv(x)
    t1 = time.perf_counter()
    y.backward(g)
    t2 = time.perf_counter()
    x.grad = None
    conv.zero_grad(set_to_none=True)
    if i >= 10:
        fwd.append(t1 - t0)
        both.append(t2 - t0)
print(json.dumps({"forward_ms": 1e3 * statistics.median(fwd),
                  "forward_backward_ms": 1e3 * statistics.median(both)}))
"""


def conv2_tinycnn(a):
    cmd = [a.tinycnn, "--threads", "2", "profile", "--conv", "--config", a.config, "--batch", "64",
           "--repeats", "50", "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    case = json.loads(proc.stdout)["cases"][1]  # LeNet-5's conv2: [64, 6, 14, 14] -> 16, 5x5
    out = {}
    for algo, r in case["results"].items():
        out[algo] = {"forward_ms": r["forward_ms_median"],
                     "forward_backward_ms": r["forward_ms_median"] + r["backward_ms_median"]}
    return out


def conv2_pytorch(a):
    proc = subprocess.run([a.python, "-c", TORCH_CONV], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        sys.exit(f"error: the PyTorch conv timing failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def show(name, r):
    times = " ".join(f"{t:.3f}" for t in r["train_s"])
    evals = " ".join(f"{t:.3f}" for t in r["eval_s"])
    print(f"  {name:<18} epoch s: {times:<16} eval s: {evals:<14} peak RSS {r['rss_mib']:6.1f} MiB"
          f"  test acc {100 * r['test_acc']:.2f}%", flush=True)


def median(runs, key):
    return statistics.median(t for r in runs for t in r[key])


def main():
    a = parse_args()
    if not os.path.exists(a.tinycnn):
        sys.exit(f"error: {a.tinycnn} not found: build first (cmake --build --preset release)")
    with open("/proc/cpuinfo") as f:
        cpuinfo = f.read()
    model = next((l.split(":", 1)[1].strip() for l in cpuinfo.splitlines()
                  if l.startswith("model name")), "?")
    avx512 = "avx512f" in cpuinfo
    print(f"machine: {model}, {os.cpu_count()} cores, AVX-512 {'yes' if avx512 else 'no'}; "
          f"load {open('/proc/loadavg').read().split()[:3]}")
    have_torch = torch_available(a)
    if not have_torch:
        print(f"PyTorch: skipped (no `import torch` with {a.python}, or no {a.pytorch_script})")
    name = os.path.basename(a.config)
    print(f"{name}: {a.epochs} epochs per run, {a.rounds} rounds, alternating"
          + (f", first {a.limit_train} training images" if a.limit_train else ""))

    ours, theirs = [], []
    for rnd in range(1, a.rounds + 1):
        if have_torch:
            theirs.append(run_pytorch(a))
            show(f"round {rnd} PyTorch", theirs[-1])
        ours.append(run_tinycnn(a, 2))
        show(f"round {rnd} tinycnn", ours[-1])
    one = run_tinycnn(a, 1)
    show("tinycnn 1 thread", one)

    t_ours = median(ours, "train_s")
    examples = statistics.median(r["ips"] for r in ours) * t_ours  # per epoch
    print(f"tinycnn: {t_ours:.3f} s/epoch ({examples / t_ours:.0f} img/s), eval "
          f"{median(ours, 'eval_s'):.3f} s, peak RSS {max(r['rss_mib'] for r in ours):.1f} MiB "
          f"({max(r['rss_mib'] for r in ours) * 1.048576:.1f} MB)")
    print(f"scaling: 1 thread {median([one], 'train_s'):.3f} s / 2 threads {t_ours:.3f} s = "
          f"{median([one], 'train_s') / t_ours:.2f}x")
    if have_torch:
        t_theirs = median(theirs, "train_s")
        print(f"PyTorch: {t_theirs:.3f} s/epoch ({examples / t_theirs:.0f} img/s), eval "
              f"{median(theirs, 'eval_s'):.3f} s, peak RSS "
              f"{max(r['rss_mib'] for r in theirs):.1f} MiB")
        print(f"ratio: PyTorch / tinycnn = {t_theirs / t_ours:.2f}x training, "
              f"{median(theirs, 'eval_s') / median(ours, 'eval_s'):.2f}x eval, "
              f"{max(r['rss_mib'] for r in theirs) / max(r['rss_mib'] for r in ours):.1f}x memory")
        print(f"accuracy: tinycnn {100 * ours[-1]['test_acc']:.2f}%, "
              f"PyTorch {100 * theirs[-1]['test_acc']:.2f}% (last round)")
    if not a.lenet5:
        return

    print("LeNet-5 conv2 alone ([64, 6, 14, 14] -> 16, 5x5; forward + dinput + dweight + dbias; "
          "medians of 50, 2 threads):")
    ours_conv = conv2_tinycnn(a)
    theirs_conv = conv2_pytorch(a) if have_torch else None
    for algo, r in ours_conv.items():
        if algo == "naive":
            continue
        line = (f"  tinycnn {algo:<9} forward {r['forward_ms']:.3f} ms, forward+backward "
                f"{r['forward_backward_ms']:.3f} ms")
        if theirs_conv:
            line += (f"  (PyTorch / tinycnn = "
                     f"{theirs_conv['forward_backward_ms'] / r['forward_backward_ms']:.2f}x)")
        print(line)
    if theirs_conv:
        print(f"  PyTorch           forward {theirs_conv['forward_ms']:.3f} ms, forward+backward "
              f"{theirs_conv['forward_backward_ms']:.3f} ms")


if __name__ == "__main__":
    main()
