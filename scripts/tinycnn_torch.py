"""PyTorch equivalents of tinycnn configs and data, shared by scripts/load_in_pytorch.py and
bench/pytorch_train.py. Residual blocks become modules with two nn.Sequential attributes,
`layers` and `shortcut`, returning their sum, so a tinycnn checkpoint's names are the module's
state_dict names with the leading "layers." removed. Needs Debian's python3-torch.
"""
import gzip
import os
import struct

import numpy as np
import torch
from torch import nn

DEFAULT_DIRS = {"mnist": "data/mnist", "fashion-mnist": "/usr/share/datasets/fashion-mnist",
                "idx": "data/idx", "cifar10": "data/cifar10"}
DEFAULT_NORM = {"mnist": ([0.1307], [0.3081]), "fashion-mnist": ([0.2860], [0.3530]),
                "cifar10": ([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616])}


def pair(v):
    return tuple(v) if isinstance(v, list) else (v, v)


class Residual(nn.Module):
    def __init__(self, layers, shortcut):
        super().__init__()
        self.layers = layers
        self.shortcut = shortcut

    def forward(self, x):
        return self.layers(x) + self.shortcut(x)


def build(specs, shape):
    """(nn.Sequential of a config's layer list, output shape); `shape` is [C, H, W] or [F]."""
    layers = []
    for spec in specs:
        t = spec["type"]
        if t == "conv2d":
            k, s, p = pair(spec["kernel_size"]), pair(spec.get("stride", 1)), pair(spec.get("padding", 0))
            layers.append(nn.Conv2d(shape[0], spec["out_channels"], k, s, p,
                                    groups=spec.get("groups", 1), bias=spec.get("bias", True)))
            shape = [spec["out_channels"], (shape[1] + 2 * p[0] - k[0]) // s[0] + 1,
                     (shape[2] + 2 * p[1] - k[1]) // s[1] + 1]
        elif t in ("maxpool2d", "avgpool2d"):
            k = pair(spec["kernel_size"])
            s, p = pair(spec.get("stride", spec["kernel_size"])), pair(spec.get("padding", 0))
            cls = nn.MaxPool2d if t == "maxpool2d" else nn.AvgPool2d
            layers.append(cls(k, s, p))
            shape = [shape[0], (shape[1] + 2 * p[0] - k[0]) // s[0] + 1,
                     (shape[2] + 2 * p[1] - k[1]) // s[1] + 1]
        elif t == "global_avgpool2d":
            layers.append(nn.AdaptiveAvgPool2d(1))
            shape = [shape[0], 1, 1]
        elif t == "flatten":
            layers.append(nn.Flatten())
            shape = [int(np.prod(shape))]
        elif t == "linear":
            layers.append(nn.Linear(shape[0], spec["out_features"], bias=spec.get("bias", True)))
            shape = [spec["out_features"]]
        elif t in ("batchnorm2d", "batchnorm1d"):
            cls = nn.BatchNorm2d if t == "batchnorm2d" else nn.BatchNorm1d
            layers.append(cls(shape[0], eps=spec.get("eps", 1e-5),
                              momentum=spec.get("momentum", 0.1), affine=spec.get("affine", True)))
        elif t == "layernorm":
            layers.append(nn.LayerNorm(list(shape), eps=spec.get("eps", 1e-5),
                                       elementwise_affine=spec.get("affine", True)))
        elif t == "groupnorm":
            layers.append(nn.GroupNorm(spec["num_groups"], shape[0], eps=spec.get("eps", 1e-5),
                                       affine=spec.get("affine", True)))
        elif t == "residual":
            main, out = build(spec["layers"], shape)
            shortcut, _ = build(spec.get("shortcut", []), shape)
            layers.append(Residual(main, shortcut))
            shape = out
        elif t == "dropout":
            layers.append(nn.Dropout(spec.get("p", 0.5)))
        else:
            layers.append({"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[t]())
    return nn.Sequential(*layers), shape


def model_of(config):
    i = config["input"]
    return build(config["layers"], [i["channels"], i["height"], i["width"]])[0]


def initialise(model, scheme):
    """tinycnn's training.weight_init: he_normal (weights N(0, sqrt(2/fan_in)), biases 0) or
    pytorch (PyTorch's own default, left as constructed). Batch norm: weight 1, bias 0."""
    if scheme == "pytorch":
        return
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def read_bytes(path):
    if os.path.exists(path):
        return open(path, "rb").read()
    return gzip.open(path + ".gz", "rb").read()


def idx(path):
    raw = np.frombuffer(read_bytes(path), dtype=np.uint8)
    dims = raw[3]
    shape = struct.unpack(">" + "I" * dims, raw[4:4 + 4 * dims].tobytes())
    return raw[4 + 4 * dims:].reshape(shape)


def split(dataset, data_dir, channels, which):
    """uint8 images [N, C, H, W] and int64 labels of the train or test split."""
    if dataset == "cifar10":
        names = [f"data_batch_{i}.bin" for i in range(1, 6)] if which == "train" else ["test_batch.bin"]
        raw = np.concatenate([np.frombuffer(read_bytes(f"{data_dir}/{n}"), dtype=np.uint8)
                              for n in names]).reshape(-1, 3073)
        return raw[:, 1:].reshape(-1, 3, 32, 32), raw[:, 0].astype(np.int64)
    prefix = "train" if which == "train" else "t10k"
    images = idx(f"{data_dir}/{prefix}-images-idx3-ubyte")
    labels = idx(f"{data_dir}/{prefix}-labels-idx1-ubyte").astype(np.int64)
    return images.reshape(len(images), channels, images.shape[-2], images.shape[-1]), labels


def normalisation(config):
    training = config.get("training", {})
    mean, std = DEFAULT_NORM.get(training.get("dataset", "mnist"), ([0.0], [1.0]))
    norm = training.get("normalize", {})
    mean, std = norm.get("mean", mean), norm.get("std", std)
    as_list = lambda v: v if isinstance(v, list) else [v]
    return (torch.tensor(as_list(mean)).reshape(1, -1, 1, 1),
            torch.tensor(as_list(std)).reshape(1, -1, 1, 1))
