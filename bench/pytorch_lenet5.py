#!/usr/bin/python3
"""PyTorch's side of bench/compare_pytorch.py: configs/lenet5.json's model trained on MNIST.

The same LeNet-5 (conv 1->6 5x5 pad 2, ReLU, 2x2 max pool, conv 6->16 5x5, ReLU, 2x2 max pool,
linear 400->120->84->10 with ReLUs, softmax cross-entropy), batch 64, SGD with momentum 0.9 and
lr 0.01, on the four MNIST IDX files read into memory as one normalised float32 tensor and
batched by index (no DataLoader, one process). Per epoch it times the training pass alone and
the test pass (batches of 1000) separately. Prints one line per epoch and, last, one line
"JSON {...}" with every figure (per_epoch: train_s, eval_s, train_loss, test_acc; peak_rss_kib;
final_test_acc).

Usage (Debian's python3-torch):
  /usr/bin/python3 bench/pytorch_lenet5.py --data data/mnist --epochs 2 --threads 2
"""
import argparse
import json
import os
import resource
import struct
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="data/mnist", help="folder with the four IDX files")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


ARGS = parse_args()
# Every thread pool is sized before torch loads: Debian's torch also calls the system BLAS, whose
# own pool torch.set_num_threads does not govern; one BLAS thread keeps the total at --threads.
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

MEAN, STD = 0.1307, 0.3081  # MNIST's, as configs/lenet5.json's default normalisation


def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        sys.exit(f"error: {path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    body = raw[4 + 4 * ndim:]
    count = 1
    for d in dims:
        count *= d
    if len(body) != count:
        sys.exit(f"error: {path}: expected {count} bytes of data for {list(dims)}, got {len(body)}")
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).reshape(dims)


def load(folder, prefix):
    images = read_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte"))
    x = images.to(torch.float32).unsqueeze(1).div_(255.0).sub_(MEAN).div_(STD)
    return x.contiguous(), labels.to(torch.int64)


def lenet5():
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def train_epoch(model, opt, x, y, batch, gen):
    model.train()
    order = torch.randperm(x.shape[0], generator=gen)
    loss_sum = 0.0
    start = time.perf_counter()
    for i in range(0, x.shape[0], batch):
        idx = order[i:i + batch]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_sum += loss.item() * idx.shape[0]
    return time.perf_counter() - start, loss_sum / x.shape[0]


def test_pass(model, x, y, batch=1000):
    model.eval()
    correct = 0
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return time.perf_counter() - start, correct / x.shape[0]


def main():
    a = ARGS
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    x_train, y_train = load(a.data, "train")
    x_test, y_test = load(a.data, "t10k")
    model = lenet5()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    epochs = []
    for epoch in range(1, a.epochs + 1):
        train_s, train_loss = train_epoch(model, opt, x_train, y_train, a.batch, gen)
        eval_s, test_acc = test_pass(model, x_test, y_test)
        epochs.append({"epoch": epoch, "train_s": train_s, "eval_s": eval_s,
                       "train_loss": train_loss, "test_acc": test_acc})
        print(f"epoch {epoch}: train {train_s:.3f} s ({x_train.shape[0] / train_s:.0f} img/s), "
              f"loss {train_loss:.4f}, eval {eval_s:.3f} s, test accuracy {100 * test_acc:.2f}%",
              flush=True)
    summary = {"torch": torch.__version__, "threads": torch.get_num_threads(),
               "batch": a.batch, "per_epoch": epochs,
               "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               "final_test_acc": epochs[-1]["test_acc"] if epochs else None}
    print("JSON " + json.dumps(summary))


if __name__ == "__main__":
    main()
