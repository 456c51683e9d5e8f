#!/usr/bin/python3
"""Exports Kiln's small end-to-end test models with Debian's python3-torch.

    /usr/bin/python3 test/models/make_models.py [OUT_DIR] [--batch N] [NAME...]

NAME is small_cnn, mlp (both committed under test/models, < 2 MB each), or one of
resnet18, resnet50, mobilenet_v2, efficientnet_b0 (torchvision, random weights) and
bert_base (a 12-layer, hidden-768, sequence-128 encoder in plain torch ops; its input is
the 1x128x768 embedding) recurrent (LSTM and GRU layers)
and einsum (several Einsum equations), made at test time. Each model gets a folder OUT_DIR/NAME with
model.onnx (opset 13; bert_base also model_opset17.onnx), input_0.npy and output_0.npy
(PyTorch fp32). Seeds are fixed, so the files are reproducible. With --batch N the
input's first dimension is N and the folder is OUT_DIR/NAME_bN (same weights).
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


class EncoderLayer(nn.Module):
    """Post-norm transformer encoder layer: self-attention and a GELU feed-forward."""

    def __init__(self, hidden, heads, ffn):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.proj = nn.Linear(hidden, hidden)
        self.norm1 = nn.LayerNorm(hidden, eps=1e-12)
        self.up = nn.Linear(hidden, ffn)
        self.down = nn.Linear(ffn, hidden)
        self.norm2 = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x):
        b, s, h = x.shape
        d = h // self.heads
        q, k, v = self.qkv(x).split(h, dim=-1)
        q, k, v = (t.reshape(b, s, self.heads, d).transpose(1, 2) for t in (q, k, v))
        scores = torch.matmul(q, k.transpose(-1, -2)) / (d ** 0.5)
        attn = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(b, s, h)
        x = self.norm1(x + self.proj(attn))
        return self.norm2(x + self.down(nn.functional.gelu(self.up(x))))


class Recurrent(nn.Module):
    """A 2-layer bidirectional LSTM feeding a batch-first GRU (ONNX LSTM and GRU nodes)."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(16, 32, num_layers=2, bidirectional=True)
        self.gru = nn.GRU(64, 24, batch_first=True)

    def forward(self, x):
        y, _ = self.lstm(x)
        y, h = self.gru(y.transpose(0, 1))
        return y + h.transpose(0, 1)


class Einsums(nn.Module):
    """Einsum equations with batch labels, diagonals, ellipses, three operands and sums."""

    def forward(self, x):
        ys = [torch.einsum("bhqd,bhkd->bhqk", x, 2 * x), torch.einsum("...ii->...i", x),
              torch.einsum("bhij,bhjk,bhkl->bhil", x, x, x), torch.einsum("bhij->hj", x),
              torch.einsum("i,j->ij", x[0, 0, 0], x[0, 0, 1]), torch.einsum("bhii", x)]
        return torch.cat([y.flatten() for y in ys])


class Encoder(nn.Module):
    def __init__(self, layers=12, hidden=768, heads=12, ffn=3072):
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(hidden, heads, ffn) for _ in range(layers))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def build(name, batch=None):
    """The model and an example input (batch 1 unless `batch` is given)."""
    model, x = build_batch1(name)
    if batch:
        # A generator of its own, so the weights drawn after this (batch-norm statistics)
        # are the same for every batch size.
        x = torch.randn(batch, *x.shape[1:], generator=torch.Generator().manual_seed(batch))
    return model, x


def build_batch1(name):
    import torchvision
    if name == "small_cnn":
        return SmallCNN(), torch.randn(1, 3, 32, 32)
    if name == "mlp":
        return MLP(), torch.randn(8, 64)
    if name == "resnet18":
        return torchvision.models.resnet18(), torch.randn(1, 3, 224, 224)
    if name == "resnet50":
        return torchvision.models.resnet50(), torch.randn(1, 3, 224, 224)
    if name == "mobilenet_v2":
        return torchvision.models.mobilenet_v2(), torch.randn(1, 3, 224, 224)
    if name == "efficientnet_b0":
        return torchvision.models.efficientnet_b0(), torch.randn(1, 3, 224, 224)
    if name == "bert_base":
        return Encoder(), torch.randn(1, 128, 768)
    if name == "einsum":
        return Einsums(), torch.randn(2, 3, 4, 4)
    if name == "recurrent":
        return Recurrent(), torch.randn(10, 3, 16)
    raise SystemExit(f"unknown model {name}")


def export(name, out_dir, batch=None):
    torch.manual_seed(0)
    model, x = build(name, batch)
    model.eval()
    # Random but non-trivial batch-norm statistics, so the folding is exercised.
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    folder = os.path.join(out_dir, f"{name}_b{batch}" if batch else name)
    os.makedirs(folder, exist_ok=True)
    with torch.no_grad():
        y = model(x)
        for opset in (13, 17) if name == "bert_base" else (13,):
            file = "model.onnx" if opset == 13 else f"model_opset{opset}.onnx"
            torch.onnx.export(model, (x,), os.path.join(folder, file), opset_version=opset,
                              input_names=["input_0"], output_names=["output_0"])
    np.save(os.path.join(folder, "input_0.npy"), x.numpy())
    np.save(os.path.join(folder, "output_0.npy"), y.numpy())
    print(f"{folder}: output {tuple(y.shape)}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    args = sys.argv[1:]
    batch = None
    if "--batch" in args:
        i = args.index("--batch")
        batch = int(args[i + 1])
        del args[i:i + 2]
    out = args[0] if args else os.path.dirname(os.path.abspath(__file__))
    for name in args[1:] or ["small_cnn", "mlp"]:
        export(name, out, batch)
