#!/usr/bin/env python3
"""PyTorch eager latency of Kiln's benchmark models on the GPU, for scripts/gpu-check.sh.

    python3 scripts/torch_eager_bench.py resnet50 bert_base

The models are those of test/models/make_models.py (the weights do not matter for
timing). Each is timed at batch 1 and 32, fp32, PyTorch's default math settings, one
CUDA-event pair per run; prints min, median and p90 in ms, like `kiln-run --bench`.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "models"))
import make_models  # noqa: E402


def time_runs(model, x, runs, warmup):
    with torch.no_grad():
        for _ in range(warmup):
            model(x)
        torch.cuda.synchronize()
        times = []
        for _ in range(runs):
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            model(x)
            stop.record()
            stop.synchronize()
            times.append(start.elapsed_time(stop))
    times.sort()
    return times[0], times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.9))]


def main():
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    for name in sys.argv[1:]:
        for batch in (1, 32):
            torch.manual_seed(0)
            model, x = make_models.build(name, batch)
            model = model.eval().cuda()
            low, median, p90 = time_runs(model, x.cuda(), runs=100 if batch == 1 else 30, warmup=10)
            print(f"{name} batch {batch}: PyTorch eager min {low:.3f} ms, median {median:.3f} ms, "
                  f"p90 {p90:.3f} ms")


if __name__ == "__main__":
    main()
