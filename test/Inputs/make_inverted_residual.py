#!/usr/bin/python3
"""Writes the inputs of inverted_residual.onnxtxt: inverted_residual_{x,we,be,wd,bd,wp}.npy,
standard normals from a fixed seed (so sums over 32 channels often pass the ReLU6's 6),
reproducible.

    /usr/bin/python3 test/Inputs/make_inverted_residual.py test/Inputs
"""
import sys

import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else "."
rng = np.random.default_rng(7)
shapes = [("x", (1, 32, 14, 14)), ("we", (192, 32, 1, 1)), ("be", (192,)), ("wd", (192, 1, 3, 3)),
          ("bd", (192,)), ("wp", (32, 192, 1, 1))]
for name, shape in shapes:
    np.save(f"{out}/inverted_residual_{name}.npy", rng.standard_normal(shape).astype(np.float32))
