#!/usr/bin/python3
"""What Winograd would cost in bf16: the error of F(2x2,3x3) and F(4x4,3x3) with the GEMM's
operands (the transformed input tiles V and filters U) rounded to bfloat16 and float32 sums,
against the direct convolution of the bfloat16-rounded input and weights (the bf16 kernels'
reference), relative to the output's largest magnitude, beside the direct bf16 kernels' own
summation-order error scale. float64 numpy, random normal operands, stride 1, padding 1.

Usage: /usr/bin/python3 bench/winograd_bf16_error.py [--channels 16 32 64]
"""
import argparse

import numpy as np

# Lavin & Gray's matrices for points 0, 1, -1 (, 2, -2) and infinity (the ones
# kernels/conv/winograd_transform.hpp writes out term by term).
BT2 = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], float)
G2 = np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]], float)
AT2 = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], float)
BT4 = np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], float)
G4 = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
               [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], float)
AT4 = np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
                [0, 1, -1, 8, -8, 1]], float)


def bf16(x):
    """Round to the nearest bfloat16 (ties to even), as float64."""
    u = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    return u.astype(np.uint32).view(np.float32).astype(np.float64)


def direct(x, w):
    c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    out = np.zeros((w.shape[0], h, wd))
    for ky in range(3):
        for kx in range(3):
            out += np.einsum("oc,chw->ohw", w[:, :, ky, kx], xp[:, ky:ky + h, kx:kx + wd])
    return out


def winograd(x, w, bt, g, at, m):
    c, h, wd = x.shape
    a = m + 2
    xp = np.pad(x, ((0, 0), (1, 1 + m), (1, 1 + m)))
    u = bf16(np.einsum("ij,ocjk,lk->ocil", g, w, g))  # filters transformed, then rounded
    out = np.zeros((w.shape[0], h + m, wd + m))
    for ty in range(0, h, m):
        for tx in range(0, wd, m):
            d = xp[:, ty:ty + a, tx:tx + a]
            v = bf16(np.einsum("ij,cjk,lk->cil", bt, d, bt))  # tiles transformed, then rounded
            mm = np.einsum("ocij,cij->oij", u, v).astype(np.float32).astype(np.float64)
            out[:, ty:ty + m, tx:tx + m] = np.einsum("ij,ojk,lk->oil", at, mm, at)
    return out[:, :h, :wd]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--channels", type=int, nargs="+", default=[16, 32, 64])
    a = p.parse_args()
    rng = np.random.default_rng(0)
    for c in a.channels:
        x = bf16(rng.standard_normal((c, 16, 16)))
        w = bf16(rng.standard_normal((c, c, 3, 3)) / np.sqrt(9 * c))
        ref = direct(x, w)
        top = np.abs(ref).max()
        line = [f"{c:3d} channels:"]
        for name, mats in (("F(2x2,3x3)", (BT2, G2, AT2, 2)), ("F(4x4,3x3)", (BT4, G4, AT4, 4))):
            err = np.abs(winograd(x, w, *mats) - ref).max() / top
            line.append(f"{name} {err:.1e}")
        line.append("(direct bf16 kernels: bound 1e-4, summation order only)")
        print("  ".join(line))


if __name__ == "__main__":
    main()
