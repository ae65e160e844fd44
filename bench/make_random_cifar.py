#!/usr/bin/env python3
"""CIFAR-10-shaped binary batches of random bytes, for timing ResNet-20 where CIFAR-10 itself
cannot be downloaded: data_batch_1..5.bin and test_batch.bin, 10,000 records each (a label
byte 0-9, then 3,072 pixel bytes), in DIR. Deterministic from --seed.

Usage: bench/make_random_cifar.py DIR [--seed S]
"""
import argparse
import os
import random


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dir")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    rng = random.Random(args.seed)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        records = bytearray()
        for _ in range(10000):
            records.append(rng.randrange(10))
            records += rng.randbytes(3072)
        with open(os.path.join(args.dir, name), "wb") as f:
            f.write(records)
    print(f"{args.dir}: 6 batches of 10,000 random CIFAR-10-shaped records")


if __name__ == "__main__":
    main()
