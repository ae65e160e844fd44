#!/usr/bin/env python3
"""tinycnn's int8 against PyTorch's own post-training quantization of the same trained model, in
one run: test accuracy and forward throughput at one batch size, float32 and int8 on both.

PyTorch (Debian's python3-torch 1.13): the checkpoint loaded into the equivalent module
(scripts/tinycnn_torch.py), quantized by FX graph mode (prepare_fx / convert_fx, the engine's
default static qconfig: per-channel int8 weights, u8 activations with histogram observers)
after calibrating on the same first N training images, on the best engine the build has
(onednn, else qnnpack). tinycnn: `tinycnn quantize` of the same checkpoint, `tinycnn eval` for
the accuracies and `tinycnn profile --model CONFIG --int8` for the forward times. Throughput is
images per second of the forward alone (median of --repeats), both on --threads threads.

Usage: /usr/bin/python3 bench/pytorch_int8.py CONFIG CHECKPOINT [--data DIR] [--tinycnn BIN]
       [--batch 256] [--calibration 1000] [--repeats 5] [--threads 2] [--json]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
import tinycnn_torch  # noqa: E402
from load_in_pytorch import read_safetensors  # noqa: E402


def accuracy(model, x, y):
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y), 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    return correct / len(y)


def throughput(model, x, batch, repeats):
    xb = x[:batch]
    times = []
    with torch.no_grad():
        model(xb)
        for _ in range(repeats):
            start = time.perf_counter()
            model(xb)
            times.append(time.perf_counter() - start)
    return batch / float(np.median(times))


def tinycnn(binary, *args):
    r = subprocess.run([binary, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"error: {' '.join([binary, *args])}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("config")
    p.add_argument("checkpoint")
    p.add_argument("--data")
    p.add_argument("--tinycnn", default="build/release/apps/tinycnn/tinycnn")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--calibration", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    os.environ["OMP_NUM_THREADS"] = str(a.threads)

    tensors, meta = read_safetensors(a.checkpoint)
    config = json.loads(meta["config"])
    training = config.get("training", {})
    dataset = training.get("dataset", "mnist")
    data_dir = a.data or training.get("data_dir", tinycnn_torch.DEFAULT_DIRS.get(dataset, "data"))
    channels = config["input"]["channels"]
    model = tinycnn_torch.model_of(config)
    model.load_state_dict({k[len("layers."):]: v for k, v in tensors.items()
                           if k.startswith("layers.")}, strict=True)
    model.eval()
    mean, std = tinycnn_torch.normalisation(config)
    norm = lambda images: (torch.from_numpy(images.astype(np.float32)) / 255 - mean) / std
    test_images, test_labels = tinycnn_torch.split(dataset, data_dir, channels, "test")
    train_images, _ = tinycnn_torch.split(dataset, data_dir, channels, "train")
    x, y = norm(test_images), torch.from_numpy(test_labels)
    calibration = norm(train_images[:a.calibration])

    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    engines = torch.backends.quantized.supported_engines
    engine = "onednn" if "onednn" in engines else "qnnpack"
    torch.backends.quantized.engine = engine
    prepared = prepare_fx(model, get_default_qconfig_mapping(engine), example_inputs=(x[:1],))
    with torch.no_grad():
        for i in range(0, len(calibration), 100):
            prepared(calibration[i:i + 100])
    quantized = convert_fx(prepared)

    with tempfile.TemporaryDirectory() as tmp:
        int8_file = os.path.join(tmp, "model.int8.safetensors")
        data_flags = ["--data", data_dir]
        tinycnn(a.tinycnn, "quantize", a.config, "--checkpoint", a.checkpoint, "--out", int8_file,
                "--calibration", str(a.calibration), "--json", *data_flags)
        t_float = tinycnn(a.tinycnn, "eval", a.config, "--checkpoint", a.checkpoint, "--json",
                          *data_flags)["test_accuracy"]
        t_int8 = tinycnn(a.tinycnn, "eval", a.config, "--checkpoint", int8_file, "--json",
                         *data_flags)["test_accuracy"]
        prof = tinycnn(a.tinycnn, "profile", "--model", a.config, "--int8", int8_file, "--batch",
                       str(a.batch), "--repeats", str(a.repeats), "--json")
    rows = {
        "pytorch_float32": {"accuracy": accuracy(model, x, y),
                            "images_per_s": throughput(model, x, a.batch, a.repeats)},
        f"pytorch_int8_{engine}": {"accuracy": accuracy(quantized, x, y),
                                   "images_per_s": throughput(quantized, x, a.batch, a.repeats)},
        "tinycnn_float32": {"accuracy": t_float,
                            "images_per_s": a.batch * 1e3 / prof["float32_forward_ms"]},
        "tinycnn_int8": {"accuracy": t_int8,
                         "images_per_s": a.batch * 1e3 / prof["int8_forward_ms"]},
    }
    if a.json:
        print(json.dumps({"model": config["name"], "batch": a.batch, "threads": a.threads,
                          "torch": torch.__version__, "engine": engine, "rows": rows}))
        return
    print(f"{config['name']}: batch {a.batch}, {a.threads} threads, PyTorch {torch.__version__} "
          f"({engine}), calibration {a.calibration} images")
    for name, r in rows.items():
        print(f"  {name:24s} accuracy {100 * r['accuracy']:6.2f} %  {r['images_per_s']:9.0f} images/s")


if __name__ == "__main__":
    main()
