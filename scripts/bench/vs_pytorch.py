#!/usr/bin/env python3
"""frugal against PyTorch on the CPU: training-step time, images/s, GFLOP/s and peak RSS (issue #8).

  scripts/bench/vs_pytorch.py --frugal build/frugal [--threads 2] [--steps 10] [--warmup 2] [--repeats 3]
      [--models mlp,cnn,resnet20,resnet18] [--markdown docs/results/cpu-performance.md] [--json results.json]

Per model it runs, `--repeats` times and interleaved (frugal then PyTorch at 1 thread, then both at N),
each side as its own process: `frugal bench` (synthetic data, the config's SGD with momentum) and this
script's --torch-worker mode under Debian's python3-torch (the same architecture from
scripts/frugal_torch_models.py, the same batch, float32, SGD with the same lr/momentum/weight decay,
zero_grad(set_to_none=True)). Each run times --steps steps after --warmup steps; the reported step time
is the median over the timed steps of all repeats. The headline compares frugal at N threads with
PyTorch at its faster setting; a second table compares both at 1 and at N threads. Peak RSS is ru_maxrss of each process (from os.wait4). GFLOP/s use frugal's FLOP
count of the model for both sides (3x the forward's), and are set against the machine's sgemm ceiling,
measured with `frugal bench --gemm` in the same run (the best of one run before and one after).
This script needs only the standard library; the worker needs torch.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SYNTHETIC = ["data.dataset=synthetic"]
CIFAR_SHAPE = ["data.synthetic.shape=[3,32,32]"]
MODELS = {  # name -> (config, --set overrides, label)
    "mlp": ("configs/fashion_mnist_mlp.json", SYNTHETIC, "MLP 784-1024-1024-10"),
    "cnn": ("configs/fashion_mnist_cnn.json", SYNTHETIC + ["model.dropout=0"], "Fashion-MNIST CNN (no dropout)"),
    "resnet20": ("configs/cifar10_resnet20.json", SYNTHETIC + CIFAR_SHAPE, "ResNet-20, 3x32x32"),
    "resnet18": ("configs/cifar10_resnet20.json",
                 SYNTHETIC + CIFAR_SHAPE + ["model.arch=resnet18", "data.batch_size=32"],
                 "ResNet-18 (CIFAR stem), 3x32x32"),
}


# ---- the PyTorch side (runs under --python, one process per measurement) ----

def torch_worker(spec_file, out_file):
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, os.path.join(REPO, "scripts"))
    from frugal_torch_models import build_torch_model

    with open(spec_file) as f:
        spec = json.load(f)
    torch.set_num_threads(spec["threads"])
    torch.manual_seed(0)
    model = build_torch_model(spec["model"], spec["sample_shape"], spec["classes"]).train()
    o = spec["optimizer"]
    opt = torch.optim.SGD(model.parameters(), lr=o.get("lr", 0.1), momentum=o.get("momentum", 0.9),
                          weight_decay=o.get("weight_decay", 0.0), nesterov=o.get("nesterov", False))
    x = torch.randn(spec["batch"], *spec["sample_shape"])
    y = torch.randint(0, spec["classes"], (spec["batch"],))
    times = []
    for step in range(spec["warmup"] + spec["steps"]):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
        if step >= spec["warmup"]:
            times.append(time.perf_counter() - t0)
    with open(out_file, "w") as f:
        json.dump({"framework": "pytorch", "version": torch.__version__, "threads": torch.get_num_threads(),
                   "step_seconds": times}, f)


# ---- the harness ----

def run_measured(cmd, log):
    """Runs cmd as its own process; returns its peak RSS in bytes (ru_maxrss from os.wait4)."""
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        with open(log) as f:
            tail = f.read()[-3000:]
        sys.exit(f"vs_pytorch: `{' '.join(cmd)}` failed with exit code {proc.returncode}:\n{tail}")
    return usage.ru_maxrss * 1024


def frugal_run(args, tmp, name, threads):
    config, sets, _ = MODELS[name]
    out = os.path.join(tmp, f"frugal_{name}.json")
    cmd = [args.frugal, "bench", "--config", os.path.join(REPO, config), "--threads", str(threads),
           "--steps", str(args.steps), "--warmup", str(args.warmup), "--json", out]
    for s in sets:
        cmd += ["--set", s]
    rss = run_measured(cmd, out + ".log")
    with open(out) as f:
        result = json.load(f)
    result["process_peak_rss_bytes"] = rss
    return result


def torch_run(args, tmp, frugal_result, threads):
    spec = {k: frugal_result[k] for k in ("model", "sample_shape", "classes", "batch", "optimizer")}
    spec.update(threads=threads, steps=args.steps, warmup=args.warmup)
    spec_file, out = os.path.join(tmp, "torch_spec.json"), os.path.join(tmp, "torch_out.json")
    with open(spec_file, "w") as f:
        json.dump(spec, f)
    rss = run_measured([args.python, os.path.abspath(__file__), "--torch-worker", spec_file, out], out + ".log")
    with open(out) as f:
        result = json.load(f)
    result["process_peak_rss_bytes"] = rss
    return result


def gemm_ceiling(args, tmp):
    out = os.path.join(tmp, "gemm.json")
    run_measured([args.frugal, "bench", "--gemm", "--threads", str(args.threads), "--json", out], out + ".log")
    with open(out) as f:
        return json.load(f)


def summarise(runs, flops, batch):
    steps = [t for r in runs for t in r["step_seconds"]]
    median = statistics.median(steps)
    return {"median_step_seconds": median, "images_per_second": batch / median, "gflops_per_second": flops / median / 1e9,
            "peak_rss_bytes": max(r["process_peak_rss_bytes"] for r in runs),
            "run_medians": [statistics.median(r["step_seconds"]) for r in runs]}


def bench_model(args, tmp, name):
    """frugal and PyTorch at 1 thread and at --threads, interleaved so load changes hit both sides alike."""
    thread_counts = sorted({1, args.threads})
    frugal_runs, torch_runs = {t: [] for t in thread_counts}, {t: [] for t in thread_counts}
    for rep in range(args.repeats):
        for t in thread_counts:
            frugal_runs[t].append(frugal_run(args, tmp, name, t))
            torch_runs[t].append(torch_run(args, tmp, frugal_runs[t][0], t))
        print(f"  {name} repeat {rep + 1}/{args.repeats}: " + ", ".join(
            f"{side}@{t} {1000 * statistics.median(runs[t][-1]['step_seconds']):.1f} ms"
            for t in thread_counts for side, runs in (("frugal", frugal_runs), ("torch", torch_runs))), flush=True)
    first = frugal_runs[args.threads][0]
    flops, batch = first["flops_per_step"], first["batch"]
    frugal = {str(t): summarise(r, flops, batch) for t, r in frugal_runs.items()}
    torch = {str(t): summarise(r, flops, batch) for t, r in torch_runs.items()}
    best = min(torch, key=lambda t: torch[t]["median_step_seconds"])
    return {"model": name, "label": MODELS[name][2], "config": MODELS[name][0], "sets": MODELS[name][1],
            "batch": batch, "flops_per_step": flops, "frugal": frugal[str(args.threads)], "frugal_by_threads": frugal,
            "torch": torch, "torch_best_threads": int(best),
            "ratio": frugal[str(args.threads)]["median_step_seconds"] / torch[best]["median_step_seconds"],
            "torch_version": torch_runs[int(best)][0]["version"], "blas": first["blas"]}


def machine_info(args):
    model = platform.processor()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        pass
    commit = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"], capture_output=True,
                            text=True).stdout.strip()
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cpu": model,
            "cores": os.cpu_count(), "threads": args.threads, "frugal_commit": commit or "unknown",
            "load_before": os.getloadavg()}


def mib(b):
    return b / 1048576.0


def markdown(machine, ceiling, results, command):
    m = machine
    sizes = ", ".join("{}: {:.1f}".format(s["n"], s["gflops_per_second"]) for s in ceiling["sizes"])
    thread_counts = list(results[0]["torch"]) if results else []
    lines = [
        "# frugal vs PyTorch on the CPU",
        "",
        f"Generated by `{command}` on {m['date']} (frugal {m['frugal_commit']}).",
        "",
        f"- Machine: {m['cpu']}, {m['cores']} cores; both frameworks at {m['threads']} threads "
        f"(PyTorch also at 1 thread, compared at its faster setting).",
        f"- BLAS: {results[0]['blas'] if results else '?'}; PyTorch {results[0]['torch_version'] if results else '?'} "
        "(Debian python3-torch, oneDNN).",
        f"- sgemm ceiling (`frugal bench --gemm`, {ceiling['threads']} threads): "
        f"**{ceiling['best_gflops_per_second']:.1f} GFLOP/s** "
        f"({sizes}).",
        f"- Load average (1 min) before / after: {m['load_before'][0]:.2f} / {m['load_after'][0]:.2f} "
        "(the machine is shared; each repeat runs frugal@1, PyTorch@1, frugal@N, PyTorch@N in turn).",
        f"- Each number is the median training-step time over {m['steps']} timed steps (after {m['warmup']} "
        f"warm-up steps) x {m['repeats']} repeats; synthetic data, float32, SGD momentum 0.9. GFLOP/s use "
        "frugal's FLOP count (3x forward) for both; peak RSS is each process's ru_maxrss (PyTorch's includes "
        f"the Python interpreter and the torch library: `python3 -c 'import torch'` alone peaks at "
        f"{mib(m['torch_import_rss_bytes']):.0f} MiB).",
        "",
        "| model | batch | frugal ms/step | PyTorch ms/step | frugal / PyTorch | frugal img/s | PyTorch img/s "
        "| frugal GFLOP/s (% ceiling) | PyTorch GFLOP/s (% ceiling) | frugal peak RSS MiB | PyTorch peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    c = ceiling["best_gflops_per_second"]
    for r in results:
        f, t = r["frugal"], r["torch"][str(r["torch_best_threads"])]
        lines.append(
            f"| {r['label']} | {r['batch']} | {1000 * f['median_step_seconds']:.1f} | "
            f"{1000 * t['median_step_seconds']:.1f} ({r['torch_best_threads']} thr) | {r['ratio']:.2f} | "
            f"{f['images_per_second']:.0f} | {t['images_per_second']:.0f} | "
            f"{f['gflops_per_second']:.1f} ({100 * f['gflops_per_second'] / c:.0f}%) | "
            f"{t['gflops_per_second']:.1f} ({100 * t['gflops_per_second'] / c:.0f}%) | "
            f"{mib(f['peak_rss_bytes']):.0f} | {mib(t['peak_rss_bytes']):.0f} |")
    lines += ["", "Both frameworks at the same thread count (median ms/step; frugal / PyTorch):", "",
              "| model | " + " | ".join(f"frugal {t} thr | PyTorch {t} thr | ratio" for t in thread_counts) + " |",
              "|---|" + "---:|" * (3 * len(thread_counts))]
    for r in results:
        frugal = r.get("frugal_by_threads", {str(m["threads"]): r["frugal"]})
        cells = []
        for t in thread_counts:
            f, p = frugal.get(t), r["torch"][t]
            cells += ([f"{1000 * f['median_step_seconds']:.1f}", f"{1000 * p['median_step_seconds']:.1f}",
                       f"{f['median_step_seconds'] / p['median_step_seconds']:.2f}"] if f
                      else ["-", f"{1000 * p['median_step_seconds']:.1f}", "-"])
        lines.append(f"| {r['label']} | " + " | ".join(cells) + " |")
    lines += ["", "Per-run medians (ms), in run order:", ""]
    for r in results:
        frugal = r.get("frugal_by_threads", {str(m["threads"]): r["frugal"]})
        lines.append(f"- {r['label']}: " + "; ".join(
            f"{side}@{t}: " + ", ".join(f"{1000 * x:.1f}" for x in runs[t]["run_medians"])
            for side, runs in (("frugal", frugal), ("PyTorch", r["torch"])) for t in runs))
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frugal", default=os.path.join(REPO, "build/frugal"), help="the frugal binary")
    p.add_argument("--python", default="/usr/bin/python3", help="a Python with torch (Debian's python3-torch)")
    p.add_argument("--threads", type=int, default=2, help="threads for both frameworks (default 2 = all cores here)")
    p.add_argument("--steps", type=int, default=10, help="timed steps per run")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps before them")
    p.add_argument("--repeats", type=int, default=3, help="interleaved runs per side and model")
    p.add_argument("--models", default="mlp,cnn,resnet20,resnet18", help=f"comma-separated, of {', '.join(MODELS)}")
    p.add_argument("--markdown", help="write the results table here")
    p.add_argument("--json", help="write all measurements here")
    p.add_argument("--from-json", help="measure nothing: render the table from a --json file of an earlier run")
    p.add_argument("--torch-worker", nargs=2, metavar=("SPEC", "OUT"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.torch_worker:
        return torch_worker(*args.torch_worker)

    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        return write_outputs(args, saved, saved["command"])

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        p.error(f"--models: unknown {unknown or 'empty list'}; valid: {', '.join(MODELS)}")
    for name, value in (("--threads", args.threads), ("--steps", args.steps), ("--repeats", args.repeats)):
        if value < 1:
            p.error(f"{name} must be at least 1, got {value}")
    if args.warmup < 0:
        p.error(f"--warmup must be 0 or more, got {args.warmup}")
    if not os.access(args.frugal, os.X_OK):
        p.error(f"--frugal: '{args.frugal}' is not an executable (build it: cmake --build build --target frugal)")
    if not os.access(args.python, os.X_OK):
        p.error(f"--python: '{args.python}' is not an executable")

    machine = machine_info(args)
    machine.update(steps=args.steps, warmup=args.warmup, repeats=args.repeats)
    with tempfile.TemporaryDirectory(prefix="frugal_vs_pytorch_") as tmp:
        before = gemm_ceiling(args, tmp)
        machine["torch_import_rss_bytes"] = run_measured([args.python, "-c", "import torch"], os.path.join(tmp, "import.log"))
        results = []
        for name in models:
            print(f"{name}:", flush=True)
            results.append(bench_model(args, tmp, name))
        after = gemm_ceiling(args, tmp)
    machine["load_after"] = os.getloadavg()
    saved = {"machine": machine, "gemm": {"before": before, "after": after}, "results": results}
    return write_outputs(args, saved, "scripts/bench/vs_pytorch.py " + " ".join(sys.argv[1:]))


def write_outputs(args, saved, command):
    saved["command"] = command
    gemm = saved["gemm"]
    ceiling = max(gemm["before"], gemm["after"], key=lambda g: g["best_gflops_per_second"])
    table = markdown(saved["machine"], ceiling, saved["results"], command)
    print(table)
    if args.markdown:
        os.makedirs(os.path.dirname(os.path.abspath(args.markdown)), exist_ok=True)
        with open(args.markdown, "w") as f:
            f.write(table)
    if args.json and not args.from_json:
        with open(args.json, "w") as f:
            json.dump(saved, f, indent=2)

if __name__ == "__main__":
    sys.exit(main())
