#!/usr/bin/python3
"""Writes OUT/good/model.onnx whose weight lives in OUT/good/weights.bin (at an offset),
and OUT/escape/model.onnx whose weight points outside its folder (../secret.bin).

    /usr/bin/python3 make_external_data.py OUT
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper


def model(location, offset):
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4])
    w.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", str(offset)), ("length", "16")):
        entry = w.external_data.add()
        entry.key, entry.value = key, value
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "external",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


out = sys.argv[1]
for sub in ("good", "escape"):
    os.makedirs(os.path.join(out, sub), exist_ok=True)
weights = np.array([1, 2, 3, 4], dtype=np.float32).tobytes()
with open(os.path.join(out, "good", "weights.bin"), "wb") as f:
    f.write(b"\0" * 8 + weights)
with open(os.path.join(out, "secret.bin"), "wb") as f:
    f.write(weights)
onnx.save(model("weights.bin", 8), os.path.join(out, "good", "model.onnx"))
onnx.save(model("../secret.bin", 0), os.path.join(out, "escape", "model.onnx"))
np.save(os.path.join(out, "x.npy"), np.zeros(4, dtype=np.float32))
np.save(os.path.join(out, "y.npy"), np.array([1, 2, 3, 4], dtype=np.float32))
