#!/usr/bin/env python3
"""Loads a tinycnn checkpoint into the equivalent PyTorch module (strict=True) and evaluates it on
the config's test set, to show the checkpoint is plain PyTorch layout. Residual blocks become
modules with two nn.Sequential attributes, `layers` and `shortcut`, returning their sum.
Needs Debian's python3-torch. Data sets: mnist, fashion-mnist, idx (plain or .gz), cifar10.
Usage: /usr/bin/python3 scripts/load_in_pytorch.py CHECKPOINT [DATA_DIR] [--json]
"""
import gzip, json, os, struct, sys
import numpy as np
import torch
from torch import nn

DEFAULT_DIRS = {"mnist": "data/mnist", "fashion-mnist": "/usr/share/datasets/fashion-mnist",
                "idx": "data/idx", "cifar10": "data/cifar10"}
DEFAULT_NORM = {"mnist": ([0.1307], [0.3081]), "fashion-mnist": ([0.2860], [0.3530]),
                "cifar10": ([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616])}


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


def pair(v):
    return tuple(v) if isinstance(v, list) else (v, v)


class Residual(nn.Module):
    def __init__(self, layers, shortcut):
        super().__init__()
        self.layers = layers
        self.shortcut = shortcut

    def forward(self, x):
        return self.layers(x) + self.shortcut(x)


def build(specs, prefix, tensors, c):
    """nn.Sequential of the config's layer list `specs` named under `prefix`; c = input channels."""
    layers = []
    for index, spec in enumerate(specs):
        t, name = spec["type"], f"{prefix}.{index}"
        if t == "conv2d":
            layers.append(nn.Conv2d(c, spec["out_channels"], pair(spec["kernel_size"]),
                                    pair(spec.get("stride", 1)), pair(spec.get("padding", 0)),
                                    groups=spec.get("groups", 1), bias=spec.get("bias", True)))
            c = spec["out_channels"]
        elif t in ("maxpool2d", "avgpool2d"):
            cls = nn.MaxPool2d if t == "maxpool2d" else nn.AvgPool2d
            layers.append(cls(pair(spec["kernel_size"]), pair(spec.get("stride", spec["kernel_size"])),
                              pair(spec.get("padding", 0))))
        elif t == "global_avgpool2d":
            layers.append(nn.AdaptiveAvgPool2d(1))
        elif t == "linear":
            layers.append(nn.Linear(tensors[f"{name}.weight"].shape[1], spec["out_features"],
                                    bias=spec.get("bias", True)))
        elif t in ("batchnorm2d", "batchnorm1d"):
            cls = nn.BatchNorm2d if t == "batchnorm2d" else nn.BatchNorm1d
            layers.append(cls(tensors[f"{name}.running_mean"].shape[0], eps=spec.get("eps", 1e-5),
                              momentum=spec.get("momentum", 0.1), affine=spec.get("affine", True)))
        elif t == "residual":
            main, c_out = build(spec["layers"], f"{name}.layers", tensors, c)
            shortcut, _ = build(spec.get("shortcut", []), f"{name}.shortcut", tensors, c)
            layers.append(Residual(main, shortcut))
            c = c_out
        elif t == "dropout":
            layers.append(nn.Dropout(spec.get("p", 0.5)))
        else:
            layers.append({"flatten": nn.Flatten, "relu": nn.ReLU, "tanh": nn.Tanh,
                           "sigmoid": nn.Sigmoid}[t]())
    return nn.Sequential(*layers), c


def read_bytes(path):
    if os.path.exists(path):
        return open(path, "rb").read()
    return gzip.open(path + ".gz", "rb").read()


def idx(path):
    raw = np.frombuffer(read_bytes(path), dtype=np.uint8)
    dims = raw[3]
    shape = struct.unpack(">" + "I" * dims, raw[4:4 + 4 * dims].tobytes())
    return raw[4 + 4 * dims:].reshape(shape)


def test_set(dataset, data_dir, channels):
    if dataset == "cifar10":
        raw = np.frombuffer(read_bytes(f"{data_dir}/test_batch.bin"), dtype=np.uint8).reshape(-1, 3073)
        return raw[:, 1:].reshape(-1, 3, 32, 32), raw[:, 0].astype(np.int64)
    images = idx(f"{data_dir}/t10k-images-idx3-ubyte")
    labels = idx(f"{data_dir}/t10k-labels-idx1-ubyte").astype(np.int64)
    return images.reshape(len(images), channels, images.shape[-2], images.shape[-1]), labels


def main():
    args = [a for a in sys.argv[1:] if a != "--json"]
    tensors, meta = read_safetensors(args[0])
    config = json.loads(meta["config"])
    training = config.get("training", {})
    dataset = training.get("dataset", "mnist")
    channels = config["input"]["channels"]
    model, _ = build(config["layers"], "layers", tensors, channels)
    state = {k[len("layers."):]: v for k, v in tensors.items() if k.startswith("layers.")}
    model.load_state_dict(state, strict=True)
    model.eval()

    data_dir = args[1] if len(args) > 1 else training.get("data_dir", DEFAULT_DIRS.get(dataset, "data"))
    mean, std = DEFAULT_NORM.get(dataset, ([0.0], [1.0]))
    norm = training.get("normalize", {})
    mean, std = norm.get("mean", mean), norm.get("std", std)
    mean = torch.tensor(mean if isinstance(mean, list) else [mean]).reshape(1, -1, 1, 1)
    std = torch.tensor(std if isinstance(std, list) else [std]).reshape(1, -1, 1, 1)
    images, labels = test_set(dataset, data_dir, channels)
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
