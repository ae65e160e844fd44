#!/usr/bin/env python3
"""`tinycnn eval` of a float checkpoint against its int8 model (tinycnn quantize): three runs
each, alternating, the median of each command's wall time (loading included), with the
config's conv_algo and with "auto" (the float32 best), at one --batch-size.

Usage: bench/int8_eval.py CONFIG CHECKPOINT INT8_FILE DATA_DIR [--batch 256] [--tinycnn BIN]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("config")
    p.add_argument("checkpoint")
    p.add_argument("int8")
    p.add_argument("data")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--tinycnn", default="build/release/apps/tinycnn/tinycnn")
    a = p.parse_args()
    config = json.load(open(a.config))
    algo = config.get("training", {}).get("conv_algo", "auto")
    config.setdefault("training", {})["conv_algo"] = "auto"
    with tempfile.TemporaryDirectory() as tmp:
        auto = os.path.join(tmp, "auto.json")
        json.dump(config, open(auto, "w"))

        def seconds(cfg, checkpoint):
            start = time.perf_counter()
            subprocess.run([a.tinycnn, "eval", cfg, "--checkpoint", checkpoint, "--data", a.data,
                            "--batch-size", str(a.batch)], check=True, capture_output=True)
            return time.perf_counter() - start

        runs = {"float": [], "auto": [], "int8": []}
        for _ in range(3):
            runs["float"].append(seconds(a.config, a.checkpoint))
            runs["auto"].append(seconds(auto, a.checkpoint))
            runs["int8"].append(seconds(a.config, a.int8))
    f, g, q = (statistics.median(runs[k]) for k in ("float", "auto", "int8"))
    print(f"{config['name']}, batch {a.batch}: float32 ({algo}) {f:.2f} s, float32 (auto) "
          f"{g:.2f} s, int8 {q:.2f} s: {f / q:.2f}x and {g / q:.2f}x")


if __name__ == "__main__":
    main()
