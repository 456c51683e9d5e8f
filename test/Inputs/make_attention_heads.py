#!/usr/bin/python3
"""Writes the inputs of attention_heads.onnxtxt: attention_heads_qkv.npy and
attention_heads_p.npy (fixed seed, so the files are reproducible).

    /usr/bin/python3 test/Inputs/make_attention_heads.py test/Inputs
"""
import sys

import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else "."
rng = np.random.default_rng(4)
np.save(f"{out}/attention_heads_qkv.npy", rng.standard_normal((1, 8, 96)).astype(np.float32))
np.save(f"{out}/attention_heads_p.npy", rng.random((1, 4, 8, 8)).astype(np.float32))
