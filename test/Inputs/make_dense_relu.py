#!/usr/bin/python3
"""Writes the inputs of dense_relu.onnxtxt: dense_relu_x.npy, dense_relu_w.npy and
dense_relu_b.npy (fixed seed, so the files are reproducible).

    /usr/bin/python3 test/Inputs/make_dense_relu.py test/Inputs
"""
import sys

import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else "."
rng = np.random.default_rng(5)
np.save(f"{out}/dense_relu_x.npy", rng.standard_normal((2, 70, 36)).astype(np.float32))
np.save(f"{out}/dense_relu_w.npy", rng.standard_normal((36, 100)).astype(np.float32))
np.save(f"{out}/dense_relu_b.npy", rng.standard_normal((100,)).astype(np.float32))
