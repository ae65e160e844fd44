#!/usr/bin/env python3
"""Loads a tinycnn checkpoint into an equivalent torch.nn.Sequential and evaluates it on the
MNIST test set, to show the checkpoint is plain PyTorch layout. Needs Debian's python3-torch.
Usage: /usr/bin/python3 scripts/load_in_pytorch.py runs/lenet5/checkpoint.safetensors [data/mnist]
"""
import json, struct, sys
import numpy as np
import torch
from torch import nn

def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {k: torch.frombuffer(bytearray(data[v["data_offsets"][0]:v["data_offsets"][1]]),
                                   dtype=torch.float32).reshape(v["shape"])
               for k, v in header.items()}
    return tensors, meta

def pair(v):
    return tuple(v) if isinstance(v, list) else (v, v)

def build(config, tensors):
    c = config["input"]["channels"]
    layers = []
    for index, spec in enumerate(config["layers"]):
        t = spec["type"]
        if t == "conv2d":
            layers.append(nn.Conv2d(c, spec["out_channels"], pair(spec["kernel_size"]),
                                    pair(spec.get("stride", 1)), pair(spec.get("padding", 0)),
                                    groups=spec.get("groups", 1), bias=spec.get("bias", True)))
            c = spec["out_channels"]
        elif t in ("maxpool2d", "avgpool2d"):
            k = pair(spec["kernel_size"])
            cls = nn.MaxPool2d if t == "maxpool2d" else nn.AvgPool2d
            layers.append(cls(k, pair(spec.get("stride", spec["kernel_size"])), pair(spec.get("padding", 0))))
        elif t == "linear":
            in_features = tensors[f"layers.{index}.weight"].shape[1]
            layers.append(nn.Linear(in_features, spec["out_features"], bias=spec.get("bias", True)))
        else:
            layers.append({"flatten": nn.Flatten, "relu": nn.ReLU, "tanh": nn.Tanh,
                           "sigmoid": nn.Sigmoid}[t]() if t != "dropout" else nn.Dropout(spec.get("p", 0.5)))
    return nn.Sequential(*layers)

def idx(path):
    raw = np.fromfile(path, dtype=np.uint8)
    return raw[16:].reshape(-1, 1, 28, 28) if raw[3] == 3 else raw[8:]

tensors, meta = read_safetensors(sys.argv[1])
config = json.loads(meta["config"])
model = build(config, tensors)
state = {k[len("layers."):]: v for k, v in tensors.items() if k.startswith("layers.")}
model.load_state_dict(state, strict=True)
model.eval()

data = sys.argv[2] if len(sys.argv) > 2 else "data/mnist"
norm = config.get("training", {}).get("normalize", {"mean": 0.1307, "std": 0.3081})
x = (torch.from_numpy(idx(f"{data}/t10k-images-idx3-ubyte").astype(np.float32)) / 255 - norm["mean"]) / norm["std"]
y = torch.from_numpy(idx(f"{data}/t10k-labels-idx1-ubyte").astype(np.int64))
with torch.no_grad():
    accuracy = (model(x).argmax(1) == y).float().mean().item()
print(f"PyTorch {torch.__version__}: {config['name']} from {sys.argv[1]}: test accuracy {accuracy:.4f}")
