#!/usr/bin/python3
"""Writes the inputs of grouped_convs.onnxtxt: grouped_convs_{x,wg,b,wd}.npy, standard
normals from a fixed seed, so the files are reproducible.

    /usr/bin/python3 test/Inputs/make_grouped_convs.py test/Inputs
"""
import sys

import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else "."
rng = np.random.default_rng(5)
for name, shape in [("x", (2, 8, 6, 6)), ("wg", (16, 4, 3, 3)), ("b", (16,)), ("wd", (16, 1, 3, 3))]:
    np.save(f"{out}/grouped_convs_{name}.npy", rng.standard_normal(shape).astype(np.float32))
