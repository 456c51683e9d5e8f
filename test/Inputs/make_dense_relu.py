#!/usr/bin/python3
"""Writes the inputs of dense_relu.onnxtxt: dense_relu_x.npy, dense_relu_w.npy and
dense_relu_b.npy (fixed seed, so the files are reproducible); and extreme ones,
dense_extremes_x.npy and dense_extremes_w.npy (not dense_relu_*: scripts/gpu-check.sh
binds a case's dense_relu_* files as its inputs): infinities, a NaN, values near FLT_MAX,
weights of zero and weights TF32 holds exactly.

    /usr/bin/python3 test/Inputs/make_dense_relu.py test/Inputs
"""
import sys

import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else "."
rng = np.random.default_rng(5)
np.save(f"{out}/dense_relu_x.npy", rng.standard_normal((2, 70, 36)).astype(np.float32))
np.save(f"{out}/dense_relu_w.npy", rng.standard_normal((36, 100)).astype(np.float32))
np.save(f"{out}/dense_relu_b.npy", rng.standard_normal((100,)).astype(np.float32))

# Extremes: an infinite input times weights TF32 holds exactly (0.25: no low part) and
# times a zero weight (NaN, as in f32), a NaN, and inputs within 2^-11 of FLT_MAX
# (rounded to TF32 they would overflow) times weights below 1/2 (finite products).
x = rng.standard_normal((2, 70, 36)).astype(np.float32)
w = rng.uniform(-0.5, 0.5, (36, 100)).astype(np.float32)
x[0, 0, 5] = np.inf
x[0, 1, 7] = -np.inf
x[0, 2, 3] = np.inf
x[0, 3, 7] = 3.402e38
x[1, 3, 0] = -3.4028e38
x[1, 5, 2] = np.nan
w[5, :10] = 0.25
w[3, 0] = 0.0
np.save(f"{out}/dense_extremes_x.npy", x)
np.save(f"{out}/dense_extremes_w.npy", w)
