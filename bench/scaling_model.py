#!/usr/bin/env python3
"""The step-time model of data-parallel training across P machines (docs/distributed.md).

step(P) = compute(B / P) + allreduce(P),  compute(b) = b * t_image (measured on one machine),
allreduce(P) = 2 (P - 1) / P * bytes / bandwidth + 2 (P - 1) * latency   (ring allreduce).
Prints, per model, network and global batch, the speed-up over one machine and the efficiency
(speed-up / P) at P = 2 .. 64, and the largest P that keeps the efficiency at 50 % or more.
Usage: bench/scaling_model.py   (the inputs are the constants below, from docs/distributed.md)
"""

# Seconds per training image on one 2-core machine (2 threads; Zen 4 class EPYC), gradient bytes.
MODELS = {
    "LeNet-5": {"t_image": 1.08 / 60000, "bytes": 246_824, "batches": (64, 1024)},
    "ResNet-20": {"t_image": 12.35 / 5120, "bytes": 1_089_896, "batches": (128, 1024)},
}
# Bandwidth in bytes/s and per-message latency in s (assumed: TCP over 1 and 10 Gb/s Ethernet,
# RDMA over 100 Gb/s).
NETWORKS = {"1 Gb/s": (1e9 / 8, 50e-6), "10 Gb/s": (10e9 / 8, 20e-6), "100 Gb/s": (100e9 / 8, 3e-6)}
RANKS = (2, 4, 8, 16, 32, 64)


def allreduce(p, nbytes, bandwidth, latency):
    return 2 * (p - 1) / p * nbytes / bandwidth + 2 * (p - 1) * latency


def main():
    for name, m in MODELS.items():
        for batch in m["batches"]:
            print(f"\n{name}, global batch {batch}, {m['bytes']} B of gradients, "
                  f"compute {1e3 * batch * m['t_image']:.1f} ms per step on one machine")
            print(f"{'network':<9}" + "".join(f"{'P=' + str(p):>13}" for p in RANKS) + "   last P >= 50 %")
            for net, (bw, lat) in NETWORKS.items():
                one = batch * m["t_image"]
                cells, last = [], 1
                for p in RANKS:
                    if batch < p:
                        cells.append(f"{'-':>13}")
                        continue
                    step = batch / p * m["t_image"] + allreduce(p, m["bytes"], bw, lat)
                    speedup = one / step
                    if speedup / p >= 0.5:
                        last = p
                    cells.append(f"{speedup:6.1f}x {100 * speedup / p:3.0f}%")
                print(f"{net:<9}" + "".join(cells) + f"   {last}")


if __name__ == "__main__":
    main()
