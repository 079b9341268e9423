#!/usr/bin/python3
"""PyTorch's memory for one training step of the model a frugal config describes: bytes saved for
backward (through torch.autograd.graph.saved_tensors_hooks, counted once per storage) and the process's
peak RSS. Run with Debian's python3-torch (/usr/bin/python3), one model per process so RSS is its own:

  /usr/bin/python3 scripts/bench/pytorch_memory.py --config configs/cifar10_resnet20.json --batch 128 \
      --shape 3,32,32 --classes 10
Prints one JSON object.
"""
import argparse
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from frugal_torch_models import build_torch_model  # noqa: E402
from check_pytorch_parity import load_config  # noqa: E402  (extends chain merged)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config", required=True)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--shape", default="1,28,28", help="C,H,W of one sample")
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = load_config(args.config)
    shape = [int(s) for s in args.shape.split(",")]
    model = build_torch_model(config["model"], shape, args.classes).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(args.batch, *shape)
    y = torch.randint(0, args.classes, (args.batch,))

    saved = {}

    def pack(t):
        storage = t.untyped_storage() if hasattr(t, "untyped_storage") else t.storage()
        saved[storage.data_ptr()] = max(saved.get(storage.data_ptr(), 0), storage.nbytes())
        return t

    times = []
    for step in range(args.steps):
        saved.clear()
        t0 = time.perf_counter()
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=False)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    print(json.dumps({
        "framework": "pytorch " + torch.__version__,
        "config": args.config,
        "batch": args.batch,
        "threads": args.threads,
        "saved_for_backward_bytes": sum(saved.values()),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "step_seconds_median": sorted(times)[len(times) // 2],
    }))


if __name__ == "__main__":
    main()
