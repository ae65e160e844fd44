#!/usr/bin/python3
"""Writes the reference cases in this folder: each op's output and gradients computed by PyTorch.

Every case is one entry of CASES below: the op, its parameters and the shapes of its inputs.
Inputs, weights and the upstream gradient are drawn from N(0, 1) (times `scale`) with a seed
derived from the case's name, rounded to 9 decimals, and the op runs in float64; the JSON file
holds the rounded inputs and PyTorch's results (format: README.md). Re-running it rewrites the
same files byte for byte.

Usage (Debian's python3-torch):  /usr/bin/python3 tests/reference/generate.py [NAME ...]
To add a case: append an entry to CASES, run this script, and commit the new JSON file; the op
tests (tests/ops_reference_test.cpp) pick up every file of a known op by itself.
"""
import hashlib
import json
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))

# name: (op, params, input shape[, extras])
CASES = {
    "conv_3x3_pad1": ("conv2d", dict(in_channels=3, out_channels=4, kernel_size=[3, 3], stride=1,
                                     padding=1, groups=1, bias=True), [2, 3, 7, 6]),
    "conv_1x1_nobias": ("conv2d", dict(in_channels=5, out_channels=2, kernel_size=[1, 1],
                                       stride=1, padding=0, groups=1, bias=False), [1, 5, 4, 4]),
    "conv_depthwise": ("conv2d", dict(in_channels=4, out_channels=4, kernel_size=[3, 3], stride=1,
                                      padding=1, groups=4, bias=True), [2, 4, 6, 6]),
    "conv_lenet_c1_small": ("conv2d", dict(in_channels=1, out_channels=6, kernel_size=[5, 5],
                                           stride=1, padding=2, groups=1, bias=True),
                            [2, 1, 12, 12]),
    "conv_stride2_rect_kernel": ("conv2d", dict(in_channels=2, out_channels=3, kernel_size=[3, 2],
                                                stride=2, padding=0, groups=1, bias=True),
                                 [1, 2, 9, 7]),
    "maxpool_2x2": ("maxpool2d", dict(kernel_size=2, stride=2, padding=0), [2, 3, 8, 8]),
    "maxpool_3x3_s2_p1": ("maxpool2d", dict(kernel_size=3, stride=2, padding=1), [1, 2, 7, 9]),
    "avgpool_2x2": ("avgpool2d", dict(kernel_size=2, stride=2, padding=0), [2, 3, 8, 6]),
    "avgpool_3x3_s1_p1": ("avgpool2d", dict(kernel_size=3, stride=1, padding=1), [1, 2, 5, 5]),
    "global_avgpool_rect": ("global_avgpool2d", {}, [2, 3, 5, 7]),
    "linear_5_to_4": ("linear", dict(in_features=5, out_features=4), [3, 5]),
    "relu": ("relu", {}, [2, 3, 4]),
    "tanh": ("tanh", {}, [2, 5]),
    "sigmoid": ("sigmoid", {}, [3, 4]),
    "batchnorm2d_train": ("batchnorm2d", dict(eps=1e-5, momentum=0.1, affine=True, training=True),
                          [4, 3, 5, 5], {"scale": 2.0}),
    "batchnorm2d_eval": ("batchnorm2d", dict(eps=1e-5, momentum=0.1, affine=True, training=False),
                         [2, 3, 4, 4]),
    "batchnorm2d_noaffine": ("batchnorm2d", dict(eps=1e-3, momentum=0.3, affine=False,
                                                 training=True), [3, 2, 3, 4]),
    "batchnorm1d_train": ("batchnorm1d", dict(eps=1e-5, momentum=0.1, affine=True, training=True),
                          [6, 5]),
    "groupnorm_3_groups": ("groupnorm", dict(num_groups=3, eps=1e-5, affine=True), [2, 6, 4, 5],
                           {"scale": 2.0, "shift": 1.5}),
    "groupnorm_noaffine": ("groupnorm", dict(num_groups=2, eps=1e-3, affine=False), [3, 4, 3, 3]),
    "groupnorm_instance": ("groupnorm", dict(num_groups=3, eps=1e-5, affine=True), [2, 3, 4, 4]),
    "groupnorm_flat": ("groupnorm", dict(num_groups=2, eps=1e-5, affine=True), [3, 8]),
    "layernorm_chw": ("layernorm", dict(eps=1e-5, affine=True), [2, 3, 4, 5], {"shift": -3.0}),
    "layernorm_flat": ("layernorm", dict(eps=1e-5, affine=True), [4, 7]),
    "layernorm_noaffine": ("layernorm", dict(eps=1e-2, affine=False), [2, 2, 3, 3]),
    # Residual blocks built from config layers (the input's shape is the block's input).
    "residual_projection": ("block", dict(layers=[
        {"type": "residual",
         "layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2,
                     "padding": 1, "bias": False}, {"type": "batchnorm2d"}, {"type": "relu"},
                    {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
                    {"type": "batchnorm2d"}],
         "shortcut": [{"type": "conv2d", "out_channels": 4, "kernel_size": 1, "stride": 2,
                       "bias": False}, {"type": "batchnorm2d"}]},
        {"type": "relu"}]), [2, 3, 6, 6]),
    "residual_nested_identity": ("block", dict(layers=[
        {"type": "residual",
         "layers": [{"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1},
                    {"type": "residual",
                     "layers": [{"type": "conv2d", "out_channels": 2, "kernel_size": 1},
                                {"type": "tanh"}]}]},
        {"type": "global_avgpool2d"}]), [2, 2, 4, 5]),
    "xent_4x10": ("softmax_cross_entropy", dict(reduction="mean"), [4, 10]),
    "xent_large_logits": ("softmax_cross_entropy", dict(reduction="mean"), [3, 10],
                          {"scale": 50.0}),
    "xent_smoothing_4x10": ("softmax_cross_entropy",
                            dict(reduction="mean", label_smoothing=0.1), [4, 10]),
    "xent_smoothing_large_logits": ("softmax_cross_entropy",
                                    dict(reduction="mean", label_smoothing=0.3), [3, 7],
                                    {"scale": 50.0}),
    # Mixup / CutMix targets: lambda on the label, 1 - lambda on another.
    "xent_mixed_5x10": ("softmax_cross_entropy", dict(reduction="mean", mixed=True), [5, 10]),
    "xent_mixed_smoothing_4x7": ("softmax_cross_entropy",
                                 dict(reduction="mean", mixed=True, label_smoothing=0.2), [4, 7],
                                 {"scale": 3.0}),
}


class Draw:
    """N(0, 1) tensors from a generator seeded by the case's name, rounded to 9 decimals."""

    def __init__(self, name):
        seed = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
        self.gen = torch.Generator().manual_seed(seed)

    def normal(self, shape, scale=1.0):
        x = torch.randn(shape, generator=self.gen, dtype=torch.float64) * scale
        return torch.round(x * 1e9) / 1e9

    def labels(self, n, k):
        return torch.randint(0, k, (n,), generator=self.gen)


def tensor_json(t):
    return {"shape": list(t.shape), "data": [round(v, 9) for v in t.detach().flatten().tolist()]}


def result_json(t):
    return {"shape": list(t.shape), "data": t.detach().flatten().tolist()}


def conv2d_case(p, x, draw):
    w = draw.normal([p["out_channels"], p["in_channels"] // p["groups"], *p["kernel_size"]])
    b = draw.normal([p["out_channels"]]) if p["bias"] else None
    tensors = {"weight": w}
    if b is not None:
        tensors["bias"] = b
    leaves = [x, w] + ([b] if b is not None else [])
    for t in leaves:
        t.requires_grad_(True)
    y = F.conv2d(x, w, b, stride=p["stride"], padding=p["padding"], groups=p["groups"])
    grads = {"grad_input": x, "grad_weight": w}
    if b is not None:
        grads["grad_bias"] = b
    return tensors, y, grads


def pool_case(op, p, x):
    x.requires_grad_(True)
    fn = F.max_pool2d if op == "maxpool2d" else (
        lambda *a, **k: F.avg_pool2d(*a, **k, count_include_pad=True))
    y = fn(x, p["kernel_size"], stride=p["stride"], padding=p["padding"])
    return {}, y, {"grad_input": x}


def linear_case(p, x, draw):
    w = draw.normal([p["out_features"], p["in_features"]])
    b = draw.normal([p["out_features"]])
    for t in (x, w, b):
        t.requires_grad_(True)
    y = F.linear(x, w, b)
    return {"weight": w, "bias": b}, y, {"grad_input": x, "grad_weight": w, "grad_bias": b}


def activation_case(op, x):
    x.requires_grad_(True)
    y = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[op](x)
    return {}, y, {"grad_input": x}


def batchnorm_case(p, x, draw):
    channels = x.shape[1]
    running_mean = draw.normal([channels])
    running_var = draw.normal([channels]).abs() + 0.5
    weight = draw.normal([channels]) if p["affine"] else None
    bias = draw.normal([channels]) if p["affine"] else None
    tensors = {"running_mean": running_mean.clone(), "running_var": running_var.clone()}
    grads = {"grad_input": x}
    if weight is not None:
        tensors.update(weight=weight, bias=bias)
        grads.update(grad_weight=weight, grad_bias=bias)
    for t in grads.values():
        t.requires_grad_(True)
    y = F.batch_norm(x, running_mean, running_var, weight, bias, training=p["training"],
                     momentum=p["momentum"], eps=p["eps"])
    extra = {"running_mean_after": result_json(running_mean),
             "running_var_after": result_json(running_var)}
    return tensors, y, grads, extra


def groupnorm_case(op, p, x, draw):
    """F.group_norm (num_groups) or F.layer_norm over every axis but the batch."""
    affine = x.shape[1:] if op == "layernorm" else x.shape[1:2]
    weight = draw.normal(list(affine)) if p["affine"] else None
    bias = draw.normal(list(affine)) if p["affine"] else None
    tensors, grads = {}, {"grad_input": x}
    if weight is not None:
        tensors.update(weight=weight, bias=bias)
        grads.update(grad_weight=weight, grad_bias=bias)
    for t in grads.values():
        t.requires_grad_(True)
    if op == "layernorm":
        y = F.layer_norm(x, list(x.shape[1:]), weight, bias, eps=p["eps"])
    else:
        y = F.group_norm(x, p["num_groups"], weight, bias, eps=p["eps"])
    return tensors, y, grads


class Residual(torch.nn.Module):
    def __init__(self, layers, shortcut):
        super().__init__()
        self.layers, self.shortcut = layers, shortcut

    def forward(self, x):
        return self.layers(x) + self.shortcut(x)


def build_layers(specs, c):
    """The PyTorch equivalent of a config's layer list (the layer types the block cases use)."""
    nn = torch.nn
    out = []
    for spec in specs:
        t = spec["type"]
        if t == "conv2d":
            out.append(nn.Conv2d(c, spec["out_channels"], spec["kernel_size"], spec.get("stride", 1),
                                 spec.get("padding", 0), bias=spec.get("bias", True)))
            c = spec["out_channels"]
        elif t == "batchnorm2d":
            out.append(nn.BatchNorm2d(c))
        elif t == "residual":
            main, c_out = build_layers(spec["layers"], c)
            out.append(Residual(main, build_layers(spec.get("shortcut", []), c)[0]))
            c = c_out
        else:
            out.append({"relu": nn.ReLU, "tanh": nn.Tanh,
                        "global_avgpool2d": lambda: nn.AdaptiveAvgPool2d(1)}[t]())
    return nn.Sequential(*out), c


def block_case(p, x, draw):
    model, _ = build_layers(p["layers"], x.shape[1])
    model = model.double().train()
    params = dict(model.named_parameters())
    with torch.no_grad():
        for t in params.values():
            t.copy_(draw.normal(list(t.shape)))
    x.requires_grad_(True)
    y = model(x)
    tensors = {"layers." + k: v for k, v in params.items()}
    grads = {"grad_input": x}
    grads.update({"grad.layers." + k: v for k, v in params.items()})
    extra = {"running.layers." + k: result_json(v) for k, v in model.named_buffers()
             if not k.endswith("num_batches_tracked")}
    return tensors, y, grads, extra


def make_case(name, spec):
    op, params, shape = spec[:3]
    extras = spec[3] if len(spec) > 3 else {}
    draw = Draw(name)
    x = draw.normal(shape, extras.get("scale", 1.0)) + extras.get("shift", 0.0)
    extra_results = {}
    doc = {"op": op, "name": name, "params": params, "input": tensor_json(x)}
    if op == "softmax_cross_entropy":
        labels = draw.labels(shape[0], shape[1])
        x.requires_grad_(True)
        smoothing = params.get("label_smoothing", 0.0)
        if params.get("mixed"):
            other = draw.labels(shape[0], shape[1])
            lam = torch.rand(shape[0], generator=draw.gen, dtype=torch.float64)
            lam = torch.round(lam * 1e6) / 1e6
            lam[0] = 1.0  # the ends of the range
            lam[1] = 0.0
            per_example = (lam * F.cross_entropy(x, labels, reduction="none", label_smoothing=smoothing)
                           + (1 - lam) * F.cross_entropy(x, other, reduction="none",
                                                         label_smoothing=smoothing))
            loss = per_example.mean()
            doc.update(other=other.tolist(), **{"lambda": lam.tolist()})
        else:
            loss = F.cross_entropy(x, labels, reduction=params["reduction"],
                                   label_smoothing=smoothing)
        loss.backward()
        doc.update(labels=labels.tolist(), loss=loss.item(), grad_input=result_json(x.grad))
        return doc
    if op == "conv2d":
        tensors, y, grads = conv2d_case(params, x, draw)
    elif op in ("maxpool2d", "avgpool2d"):
        tensors, y, grads = pool_case(op, params, x)
    elif op == "global_avgpool2d":
        x.requires_grad_(True)
        tensors, y, grads = {}, F.adaptive_avg_pool2d(x, 1), {"grad_input": x}
    elif op == "linear":
        tensors, y, grads = linear_case(params, x, draw)
    elif op in ("batchnorm2d", "batchnorm1d"):
        tensors, y, grads, extra_results = batchnorm_case(params, x, draw)
    elif op in ("groupnorm", "layernorm"):
        tensors, y, grads = groupnorm_case(op, params, x, draw)
    elif op == "block":
        tensors, y, grads, extra_results = block_case(params, x, draw)
    else:
        tensors, y, grads = activation_case(op, x)
    grad_output = draw.normal(list(y.shape))
    y.backward(grad_output)
    doc.update({k: tensor_json(v) for k, v in tensors.items()})
    doc.update(output=result_json(y), grad_output=tensor_json(grad_output))
    doc.update({k: result_json(v.grad) for k, v in grads.items()})
    doc.update(extra_results)
    return doc


def main():
    names = sys.argv[1:] or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        sys.exit(f"error: unknown case {unknown[0]!r}; the cases are: {', '.join(CASES)}")
    torch.use_deterministic_algorithms(True)
    for name in names:
        doc = make_case(name, CASES[name])
        path = os.path.join(HERE, name + ".json")
        with open(path + ".tmp", "w") as f:
            json.dump(doc, f, separators=(",", ":"))
            f.write("\n")
        os.replace(path + ".tmp", path)
        print(f"wrote {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
