#!/usr/bin/python3
"""Exports Kiln's small end-to-end test models with Debian's python3-torch.

    /usr/bin/python3 test/models/make_models.py [OUT_DIR] [NAME...]

NAME is small_cnn, mlp (both committed under test/models, < 2 MB each) or resnet18 and
mobilenet_v2 (torchvision, random weights, made at test time). Each model gets a folder
OUT_DIR/NAME with model.onnx (opset 13), input_0.npy and output_0.npy (PyTorch fp32).
Seeds are fixed, so the files are reproducible.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn


class SmallCNN(nn.Module):
    """Conv-BN-ReLU blocks, max pool, a residual add, global average pool and a linear head."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.conv3 = nn.Conv2d(16, 32, 3, stride=2, padding=1, groups=2)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn1(self.conv1(x))))
        x = torch.relu(x + self.bn2(self.conv2(x)))
        x = torch.relu(self.conv3(x))
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return torch.softmax(self.head(x), dim=1)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.Tanh(),
                                    nn.Linear(256, 10))

    def forward(self, x):
        return self.layers(x)


def build(name):
    import torchvision
    if name == "small_cnn":
        return SmallCNN(), torch.randn(1, 3, 32, 32)
    if name == "mlp":
        return MLP(), torch.randn(8, 64)
    if name == "resnet18":
        return torchvision.models.resnet18(), torch.randn(1, 3, 224, 224)
    if name == "mobilenet_v2":
        return torchvision.models.mobilenet_v2(), torch.randn(1, 3, 224, 224)
    raise SystemExit(f"unknown model {name}")


def export(name, out_dir):
    torch.manual_seed(0)
    model, x = build(name)
    model.eval()
    # Random but non-trivial batch-norm statistics, so the folding is exercised.
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    with torch.no_grad():
        y = model(x)
        torch.onnx.export(model, (x,), os.path.join(folder, "model.onnx"), opset_version=13,
                          input_names=["input_0"], output_names=["output_0"])
    np.save(os.path.join(folder, "input_0.npy"), x.numpy())
    np.save(os.path.join(folder, "output_0.npy"), y.numpy())
    print(f"{folder}: output {tuple(y.shape)}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for name in sys.argv[2:] or ["small_cnn", "mlp"]:
        export(name, out)
