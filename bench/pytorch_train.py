#!/usr/bin/python3
"""PyTorch's side of bench/compare_pytorch.py for any tinycnn config (residual blocks and batch
norm included): the same architecture (scripts/tinycnn_torch.py), initial scale
(training.weight_init), optimizer, learning-rate schedule, batch size and augmentation
(random crop with zero padding, horizontal flip), on the config's data set read into memory
and batched by index (no DataLoader, one process). Per epoch it times the training pass alone
and the test pass (batches of 1000). Prints one line per epoch and, last, one line "JSON {...}"
(per_epoch: images, train_s, eval_s, train_loss, test_acc; peak_rss_kib; final_test_acc).

Usage (Debian's python3-torch):
  /usr/bin/python3 bench/pytorch_train.py --config configs/resnet_fashion.json --epochs 1
"""
import argparse
import json
import os
import resource
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", required=True)
    p.add_argument("--data", help="the data set's folder (default: the config's)")
    p.add_argument("--epochs", type=int, help="default: the config's")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit-train", type=int, default=0)
    p.add_argument("--limit-test", type=int, default=0)
    return p.parse_args()


ARGS = parse_args()
# Every thread pool is sized before torch loads (see bench/pytorch_lenet5.py).
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "scripts"))
import tinycnn_torch  # noqa: E402


def optimizer_of(t, params):
    o = t.get("optimizer", {})
    if o.get("type", "sgd") == "adam":
        return torch.optim.Adam(params, lr=o.get("lr", 0.001),
                                betas=(o.get("beta1", 0.9), o.get("beta2", 0.999)),
                                eps=o.get("eps", 1e-8), weight_decay=o.get("weight_decay", 0.0))
    return torch.optim.SGD(params, lr=o.get("lr", 0.01), momentum=o.get("momentum", 0.0),
                           weight_decay=o.get("weight_decay", 0.0),
                           nesterov=o.get("nesterov", False))


def schedule_of(t, opt, epochs):
    s = t.get("lr_schedule", {"type": "constant"})
    if s["type"] == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    if s["type"] == "step":
        return torch.optim.lr_scheduler.StepLR(opt, s.get("step_size", 1), s.get("gamma", 0.1))
    return None


def augment(x, t, gen):
    a = t.get("augment", {})
    pad = a.get("random_crop", {}).get("padding", 0)
    if pad:
        n, _, h, w = x.shape
        padded = F.pad(x, (pad, pad, pad, pad))
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
        x = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
    if a.get("horizontal_flip", False):
        flip = torch.rand(x.shape[0], generator=gen) < 0.5
        x = torch.where(flip.reshape(-1, 1, 1, 1), x.flip(3), x)
    return x


def main():
    a = ARGS
    config = json.load(open(a.config))
    t = config.get("training", {})
    dataset = t.get("dataset", "mnist")
    data_dir = a.data or t.get("data_dir", tinycnn_torch.DEFAULT_DIRS.get(dataset, "data"))
    epochs = a.epochs or t.get("epochs", 10)
    batch = t.get("batch_size", 64)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    channels = config["input"]["channels"]
    mean, std = tinycnn_torch.normalisation(config)

    def tensors(which, limit):
        images, labels = tinycnn_torch.split(dataset, data_dir, channels, which)
        if limit:
            images, labels = images[:limit], labels[:limit]
        x = (torch.from_numpy(np.ascontiguousarray(images)).to(torch.float32) / 255 - mean) / std
        return x.contiguous(), torch.from_numpy(labels)

    x_train, y_train = tensors("train", a.limit_train)
    x_test, y_test = tensors("test", a.limit_test)
    model = tinycnn_torch.model_of(config)
    tinycnn_torch.initialise(model, t.get("weight_init", "he_normal"))
    opt = optimizer_of(t, model.parameters())
    sched = schedule_of(t, opt, epochs)
    per_epoch = []
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(x_train.shape[0], generator=gen)
        loss_sum = 0.0
        start = time.perf_counter()
        for i in range(0, x_train.shape[0], batch):
            idx = order[i:i + batch]
            loss = F.cross_entropy(model(augment(x_train[idx], t, gen)), y_train[idx],
                                   label_smoothing=t.get("label_smoothing", 0.0))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * idx.shape[0]
        train_s = time.perf_counter() - start
        if sched:
            sched.step()
        model.eval()
        correct = 0
        start = time.perf_counter()
        with torch.no_grad():
            for i in range(0, x_test.shape[0], 1000):
                correct += (model(x_test[i:i + 1000]).argmax(1) == y_test[i:i + 1000]).sum().item()
        eval_s = time.perf_counter() - start
        test_acc = correct / x_test.shape[0]
        per_epoch.append({"epoch": epoch, "images": x_train.shape[0], "train_s": train_s,
                          "eval_s": eval_s,
                          "train_loss": loss_sum / x_train.shape[0], "test_acc": test_acc})
        print(f"epoch {epoch}: train {train_s:.3f} s ({x_train.shape[0] / train_s:.0f} img/s), "
              f"loss {per_epoch[-1]['train_loss']:.4f}, eval {eval_s:.3f} s, "
              f"test accuracy {100 * test_acc:.2f}%", flush=True)
    print("JSON " + json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                                "batch": batch, "per_epoch": per_epoch,
                                "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                                "final_test_acc": per_epoch[-1]["test_acc"]}))


if __name__ == "__main__":
    main()
