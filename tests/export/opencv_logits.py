#!/usr/bin/env python3
"""Runs an ONNX model in OpenCV's DNN module, an ONNX runtime independent of tinycnn.

Usage: opencv_logits.py MODEL.onnx INPUT.f32 N C H W OUTPUT.f32
INPUT.f32 holds N*C*H*W little-endian float32 values; OUTPUT.f32 receives the logits, N*K float32.
Exit 1 with an `error:` line on stderr when OpenCV cannot load or run the model.
"""
import sys

import cv2
import numpy as np


def main():
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    model, source, n, c, h, w, target = sys.argv[1:]
    x = np.fromfile(source, dtype="<f4").reshape(int(n), int(c), int(h), int(w))
    try:
        net = cv2.dnn.readNetFromONNX(model)
        net.setInput(x)
        y = net.forward()
    except cv2.error as e:
        print(f"error: OpenCV {cv2.__version__}: {e}", file=sys.stderr)
        sys.exit(1)
    np.ascontiguousarray(y, dtype="<f4").tofile(target)


if __name__ == "__main__":
    main()
