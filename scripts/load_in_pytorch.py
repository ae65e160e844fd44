#!/usr/bin/env python3
"""Loads a tinycnn checkpoint into the equivalent PyTorch module (strict=True) and evaluates it on
the config's test set, to show the checkpoint is plain PyTorch layout. Residual blocks become
modules with two nn.Sequential attributes, `layers` and `shortcut`, returning their sum.
Needs Debian's python3-torch. Data sets: mnist, fashion-mnist, idx (plain or .gz), cifar10.
Usage: /usr/bin/python3 scripts/load_in_pytorch.py CHECKPOINT [DATA_DIR] [--json]
"""
import json, os, struct, sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tinycnn_torch  # noqa: E402


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    dtypes = {"F32": torch.float32, "I64": torch.int64}
    tensors = {k: torch.frombuffer(bytearray(data[v["data_offsets"][0]:v["data_offsets"][1]]),
                                   dtype=dtypes[v["dtype"]]).reshape(v["shape"])
               for k, v in header.items()}
    return tensors, meta


def main():
    args = [a for a in sys.argv[1:] if a != "--json"]
    tensors, meta = read_safetensors(args[0])
    config = json.loads(meta["config"])
    training = config.get("training", {})
    dataset = training.get("dataset", "mnist")
    channels = config["input"]["channels"]
    model = tinycnn_torch.model_of(config)
    state = {k[len("layers."):]: v for k, v in tensors.items() if k.startswith("layers.")}
    model.load_state_dict(state, strict=True)
    model.eval()

    data_dir = args[1] if len(args) > 1 else training.get(
        "data_dir", tinycnn_torch.DEFAULT_DIRS.get(dataset, "data"))
    mean, std = tinycnn_torch.normalisation(config)
    images, labels = tinycnn_torch.split(dataset, data_dir, channels, "test")
    x = (torch.from_numpy(images.astype(np.float32)) / 255 - mean) / std
    y = torch.from_numpy(labels)
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y), 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    accuracy = correct / len(y)
    if "--json" in sys.argv:
        print(json.dumps({"model": config["name"], "test_accuracy": accuracy, "examples": len(y)}))
    else:
        print(f"PyTorch {torch.__version__}: {config['name']} from {args[0]}: test accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
