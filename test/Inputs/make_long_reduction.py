#!/usr/bin/python3
"""Writes the inputs of long_reduction.onnxtxt: long_reduction_x.npy, long_reduction_w.npy
and long_reduction_b.npy (fixed seed, so the files are reproducible).

    /usr/bin/python3 test/Inputs/make_long_reduction.py test/Inputs
"""
import sys

import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else "."
rng = np.random.default_rng(11)
np.save(f"{out}/long_reduction_x.npy", rng.standard_normal((16, 1024)).astype(np.float32))
np.save(f"{out}/long_reduction_w.npy", rng.standard_normal((1024, 40)).astype(np.float32))
np.save(f"{out}/long_reduction_b.npy", rng.standard_normal((40,)).astype(np.float32))
