#!/usr/bin/env python3
"""frugal against PyTorch on one GPU: training-step time and peak device memory (issue #13).

  scripts/bench/vs_pytorch_cuda.py --frugal build-gpu/frugal [--python python3] [--steps 20] [--warmup 5]
      [--batch 128] [--models mlp,cnn,resnet20,resnet18] [--modes exact,quantized4,fewbit2]
      [--markdown FILE] [--json FILE] [--dry-run]

Per model, in one run on one GPU: `frugal bench --set device=cuda` for every mode (synthetic data, the
models and SGD of scripts/bench/vs_pytorch.py, at --batch), then this script's --torch-worker under a
Python with CUDA PyTorch: the same architecture (scripts/frugal_torch_models.py), batch and SGD, eager,
float32 (TF32 off in cuDNN and cuBLAS, as frugal computes in float32 unless --torch-tf32), each step timed
to torch.cuda.synchronize(). Both sides time --steps steps after --warmup and report the median. Memory:
frugal's device peak (its allocator's peak plus the runtime's workspaces and scratch, which PyTorch's
caching allocator also holds) against torch.cuda.max_memory_allocated(); the driver's peak for frugal
is shown beside it (it includes the CUDA context, which neither of the others does).
One table: ms/step, frugal / PyTorch-exact, mode / frugal-exact, peak device MiB and its ratio.
--dry-run prints the commands and runs nothing.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vs_pytorch import MODELS, REPO  # noqa: E402  (the CPU comparison's models, configs and labels)

MODES = {  # name -> --set overrides of the backward section
    "exact": ["backward.default.mode=exact"],
    "quantized4": ["backward.default.mode=quantized", "backward.default.bits=4"],
    "fewbit2": ["backward.default.mode=fewbit", "backward.default.bits=2"],
}


def torch_worker(spec_file, out_file):
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, os.path.join(REPO, "scripts"))
    from frugal_torch_models import build_torch_model

    with open(spec_file) as f:
        spec = json.load(f)
    torch.backends.cudnn.allow_tf32 = spec["tf32"]
    torch.backends.cuda.matmul.allow_tf32 = spec["tf32"]
    torch.manual_seed(0)
    dev = torch.device("cuda")
    model = build_torch_model(spec["model"], spec["sample_shape"], spec["classes"]).to(dev).train()
    o = spec["optimizer"]
    opt = torch.optim.SGD(model.parameters(), lr=o.get("lr", 0.1), momentum=o.get("momentum", 0.9),
                          weight_decay=o.get("weight_decay", 0.0), nesterov=o.get("nesterov", False))
    x = torch.randn(spec["batch"], *spec["sample_shape"], device=dev)
    y = torch.randint(0, spec["classes"], (spec["batch"],), device=dev)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for step in range(spec["warmup"] + spec["steps"]):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
        torch.cuda.synchronize()
        if step >= spec["warmup"]:
            times.append(time.perf_counter() - t0)
    with open(out_file, "w") as f:
        json.dump({"version": torch.__version__, "device": torch.cuda.get_device_name(), "step_seconds": times,
                   "max_memory_allocated": torch.cuda.max_memory_allocated(),
                   "max_memory_reserved": torch.cuda.max_memory_reserved()}, f)


def run(cmd, log, dry_run):
    print("  $ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
    if dry_run:
        return
    with open(log, "w") as out:
        rc = subprocess.call(cmd, stdout=out, stderr=subprocess.STDOUT)
    if rc != 0:
        with open(log) as f:
            sys.exit(f"vs_pytorch_cuda: `{' '.join(cmd)}` failed with exit code {rc}:\n{f.read()[-3000:]}")


def frugal_run(args, tmp, model, mode):
    config, sets, _ = MODELS[model]
    out = os.path.join(tmp, f"frugal_{model}_{mode}.json")
    cmd = [args.frugal, "bench", "--config", os.path.join(REPO, config), "--steps", str(args.steps),
           "--warmup", str(args.warmup), "--json", out]
    for s in sets + ["device=cuda", f"data.batch_size={args.batch}", "backward.layers=[]"] + MODES[mode]:
        cmd += ["--set", s]
    run(cmd, out + ".log", args.dry_run)
    if args.dry_run:
        return None
    with open(out) as f:
        return json.load(f)


def torch_run(args, tmp, model, frugal_result):
    spec_file, out = os.path.join(tmp, f"torch_{model}_spec.json"), os.path.join(tmp, f"torch_{model}.json")
    if not args.dry_run:
        spec = {k: frugal_result[k] for k in ("model", "sample_shape", "classes", "batch", "optimizer")}
        spec.update(steps=args.steps, warmup=args.warmup, tf32=args.torch_tf32)
        with open(spec_file, "w") as f:
            json.dump(spec, f)
    run([args.python, os.path.abspath(__file__), "--torch-worker", spec_file, out], out + ".log", args.dry_run)
    if args.dry_run:
        return None
    with open(out) as f:
        return json.load(f)


def mib(b):
    return b / 1048576.0


def table(rows, meta):
    lines = [
        f"# frugal vs PyTorch on {meta['device']}",
        "",
        f"frugal {meta['kernels']}; PyTorch {meta['torch']} eager, float32 (TF32 {'on' if meta['tf32'] else 'off'}); "
        f"synthetic data, SGD momentum 0.9; median of {meta['steps']} steps after {meta['warmup']} warm-up steps, "
        "each timed to the end of its kernels. Peak: frugal's allocator peak plus its runtime workspaces "
        "(driver peak, context included, in brackets) against torch.cuda.max_memory_allocated().",
        "",
        "| model | batch | mode | frugal ms/step | PyTorch ms/step (exact) | frugal / PyTorch | mode / frugal exact "
        "| frugal peak MiB (driver) | PyTorch peak MiB | frugal / PyTorch peak |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['label']} | {r['batch']} | {r['mode']} | {1000 * r['frugal_s']:.2f} | {1000 * r['torch_s']:.2f} | "
            f"{r['frugal_s'] / r['torch_s']:.2f} | {r['frugal_s'] / r['frugal_exact_s']:.2f} | "
            f"{mib(r['frugal_peak']):.1f} ({mib(r['frugal_driver_peak']):.0f}) | {mib(r['torch_peak']):.1f} | "
            f"{r['frugal_peak'] / r['torch_peak']:.2f} |")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frugal", default=os.path.join(REPO, "build-gpu/frugal"), help="a CUDA build of frugal")
    p.add_argument("--python", default=sys.executable, help="a Python with CUDA PyTorch")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--models", default="mlp,cnn,resnet20,resnet18")
    p.add_argument("--modes", default="exact,quantized4,fewbit2")
    p.add_argument("--torch-tf32", action="store_true", help="let PyTorch use TF32 (off: float32 like frugal)")
    p.add_argument("--markdown", help="also write the table here")
    p.add_argument("--json", help="also write every measurement here")
    p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    p.add_argument("--torch-worker", nargs=2, metavar=("SPEC", "OUT"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.torch_worker:
        return torch_worker(*args.torch_worker)
    models = [m for m in args.models.split(",") if m]
    modes = [m for m in args.modes.split(",") if m]
    bad = [m for m in models if m not in MODELS] + [m for m in modes if m not in MODES]
    if bad or not models or not modes:
        p.error(f"unknown models/modes {bad}; valid models: {', '.join(MODELS)}; modes: {', '.join(MODES)}")
    if "exact" not in modes:
        p.error("--modes must include exact (the other modes are compared with it)")
    if args.steps < 1 or args.warmup < 0 or args.batch < 1:
        p.error("--steps and --batch must be at least 1, --warmup at least 0")
    if not args.dry_run and not os.access(args.frugal, os.X_OK):
        p.error(f"--frugal: '{args.frugal}' is not an executable")

    rows, measurements, meta = [], [], {"steps": args.steps, "warmup": args.warmup, "tf32": args.torch_tf32}
    with tempfile.TemporaryDirectory(prefix="frugal_vs_pytorch_cuda_") as tmp:
        for model in models:
            print(f"{model}:", flush=True)
            frugal = {mode: frugal_run(args, tmp, model, mode) for mode in modes}
            torch = torch_run(args, tmp, model, frugal["exact"])
            if args.dry_run:
                continue
            meta.update(device=torch["device"], torch=torch["version"], kernels=frugal["exact"]["kernels"])
            torch_s = statistics.median(torch["step_seconds"])
            for mode in modes:
                f = frugal[mode]
                rows.append({"label": MODELS[model][2], "batch": f["batch"], "mode": mode,
                             "frugal_s": f["median_step_seconds"], "torch_s": torch_s,
                             "frugal_exact_s": frugal["exact"]["median_step_seconds"],
                             "frugal_peak": f["device_memory"]["peak_bytes"],
                             "frugal_driver_peak": f["device_memory"]["driver_peak_used_bytes"],
                             "torch_peak": torch["max_memory_allocated"]})
            measurements.append({"model": model, "frugal": frugal, "torch": torch})
    if args.dry_run:
        return 0
    text = table(rows, meta)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "rows": rows, "measurements": measurements}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
