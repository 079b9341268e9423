#!/usr/bin/env python3
"""frugal against the current peers on the CPU: PyTorch eager, torch.compile (inductor) and JAX (jit of
the whole training step), in one run, interleaved, at 1 and N threads (issue #18).

  scripts/bench/vs_peers.py [--frugal build/frugal] [--threads 2] [--steps 10] [--warmup 3] [--repeats 2]
      [--models mlp,cnn,resnet20,resnet18] [--peers eager,compile,jax] [--venv DIR]
      [--markdown FILE] [--json FILE] [--from-json FILE]

The peers run in a virtual environment with the newest PyTorch and JAX from PyPI, created on first use
outside the repository (default ~/.cache/frugal/peers-venv; never in tests or CI). Every measurement is
its own process: frugal through `frugal bench` (synthetic data, the config's SGD with momentum), each
peer through this script's --worker mode. All sides train the same architecture (PyTorch's from
scripts/frugal_torch_models.py, JAX's from scripts/frugal_jax_models.py; their parameter counts are
checked equal) on the same batch size, float32, SGD with the same lr, momentum and weight decay. Thread
counts are enforced by CPU affinity for every process and by each framework's own setting.

Reported per side and thread count: the median step time over --steps timed steps after --warmup
untimed ones, over --repeats interleaved runs; torch.compile's and JAX's compile time (the first step)
apart; peak RSS (ru_maxrss). The headline compares frugal at its best thread setting with the fastest
peer at that peer's best setting. The machine (CPU model and flags), the versions and the sgemm ceiling
(`frugal bench --gemm`) are recorded with the table.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vs_pytorch as base  # noqa: E402  (the frugal side, process measurement and machine info)

REPO = base.REPO
PEERS = {"eager": "PyTorch eager", "compile": "torch.compile", "jax": "JAX jit"}
DEFAULT_VENV = os.path.expanduser("~/.cache/frugal/peers-venv")


# ---- the peers (run under the venv's python, one process per measurement) ----

def pin_threads(threads):
    """Confines this process to `threads` CPUs, so every framework's thread pools see that many."""
    cpus = sorted(os.sched_getaffinity(0))[:threads]
    os.sched_setaffinity(0, cpus)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)


def torch_step_fn(spec, compiled):
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, os.path.join(REPO, "scripts"))
    from frugal_torch_models import build_torch_model

    torch.set_num_threads(spec["threads"])
    torch.manual_seed(0)
    model = build_torch_model(spec["model"], spec["sample_shape"], spec["classes"]).train()
    o = spec["optimizer"]
    opt = torch.optim.SGD(model.parameters(), lr=o.get("lr", 0.1), momentum=o.get("momentum", 0.9),
                          weight_decay=o.get("weight_decay", 0.0), nesterov=o.get("nesterov", False))
    x = torch.randn(spec["batch"], *spec["sample_shape"])
    y = torch.randint(0, spec["classes"], (spec["batch"],))

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    if compiled:  # the whole step: forward, backward and the optimizer, as users compile it
        step = torch.compile(step)
    count = sum(p.numel() for p in model.parameters())
    return step, count, {"framework": "pytorch", "version": torch.__version__}


def jax_step_fn(spec):
    import jax
    import jax.numpy as jnp
    sys.path.insert(0, os.path.join(REPO, "scripts"))
    from frugal_jax_models import build_jax_model, parameter_count

    c, h, w = spec["sample_shape"]
    params, state, apply = build_jax_model(spec["model"], spec["sample_shape"], spec["classes"], jax.random.PRNGKey(0))
    o = spec["optimizer"]
    lr, momentum, wd = o.get("lr", 0.1), o.get("momentum", 0.9), o.get("weight_decay", 0.0)
    velocity = jax.tree_util.tree_map(jnp.zeros_like, params)

    def loss_fn(p, s, x, y):
        logits, new_s = apply(p, s, x, True)
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1)), new_s

    @jax.jit
    def train_step(p, v, s, x, y):  # SGD with momentum and coupled weight decay, as torch.optim.SGD
        (_, new_s), g = jax.value_and_grad(loss_fn, has_aux=True)(p, s, x, y)
        g = jax.tree_util.tree_map(lambda gi, pi: gi + wd * pi, g, p)
        v = jax.tree_util.tree_map(lambda vi, gi: momentum * vi + gi, v, g)
        p = jax.tree_util.tree_map(lambda pi, vi: pi - lr * vi, p, v)
        return p, v, new_s

    key = jax.random.PRNGKey(1)
    x = jax.random.normal(key, (spec["batch"], h, w, c), jnp.float32)
    y = jax.random.randint(key, (spec["batch"],), 0, spec["classes"])
    box = {"p": params, "v": velocity, "s": state}

    def step():
        box["p"], box["v"], box["s"] = train_step(box["p"], box["v"], box["s"], x, y)
        jax.block_until_ready(box["p"])

    return step, parameter_count(params), {"framework": "jax", "version": jax.__version__}


def worker(kind, spec_file, out_file):
    with open(spec_file) as f:
        spec = json.load(f)
    pin_threads(spec["threads"])
    if kind == "jax":  # XLA's CPU thread pool follows the affinity; these keep Eigen's in line with it
        os.environ["XLA_FLAGS"] = (f"--xla_cpu_multi_thread_eigen={'true' if spec['threads'] > 1 else 'false'} "
                                   f"intra_op_parallelism_threads={spec['threads']}")
        step, count, info = jax_step_fn(spec)
    else:
        step, count, info = torch_step_fn(spec, compiled=(kind == "compile"))
    times = []
    for i in range(spec["warmup"] + spec["steps"]):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    info.update(kind=kind, threads=spec["threads"], parameters=count, first_step_seconds=times[0],
                step_seconds=times[spec["warmup"]:])
    with open(out_file, "w") as f:
        json.dump(info, f)


# ---- the harness ----

def ensure_venv(path):
    """The peers' virtual environment: created with the newest torch and jax from PyPI on first use."""
    python = os.path.join(path, "bin", "python")
    if os.access(python, os.X_OK):
        check = subprocess.run([python, "-c", "import torch, jax"], capture_output=True, text=True)
        if check.returncode == 0:
            return python
        print(f"vs_peers: {path} lacks torch or jax; installing them", flush=True)
    else:
        print(f"vs_peers: creating {path} with the newest torch and jax from PyPI (once; several GB)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", path], check=True)
    subprocess.run([python, "-m", "pip", "install", "--upgrade", "pip"], check=True)
    subprocess.run([python, "-m", "pip", "install", "--upgrade", "torch", "jax", "numpy"], check=True)
    return python


def peer_run(args, tmp, kind, frugal_result, threads):
    spec = {k: frugal_result[k] for k in ("model", "sample_shape", "classes", "batch", "optimizer")}
    spec.update(threads=threads, steps=args.steps, warmup=args.warmup)
    spec_file, out = os.path.join(tmp, f"{kind}_spec.json"), os.path.join(tmp, f"{kind}_out.json")
    with open(spec_file, "w") as f:
        json.dump(spec, f)
    rss = base.run_measured([args.python, os.path.abspath(__file__), "--worker", kind, spec_file, out], out + ".log")
    with open(out) as f:
        result = json.load(f)
    result["process_peak_rss_bytes"] = rss
    return result


def frugal_pinned_run(args, tmp, name, threads):
    """frugal bench under the same CPU affinity rule as the peers."""
    cpus = sorted(os.sched_getaffinity(0))[:threads]
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)  # inherited by the child
    try:
        return base.frugal_run(args, tmp, name, threads)
    finally:
        os.sched_setaffinity(0, saved)


def summarise(runs, batch):
    steps = [t for r in runs for t in r["step_seconds"]]
    median = statistics.median(steps)
    out = {"median_step_seconds": median, "images_per_second": batch / median,
           "peak_rss_bytes": max(r["process_peak_rss_bytes"] for r in runs),
           "run_medians": [statistics.median(r["step_seconds"]) for r in runs]}
    if "first_step_seconds" in runs[0]:
        out["first_step_seconds"] = statistics.median(r["first_step_seconds"] for r in runs)
    return out


def bench_model(args, tmp, name, peers):
    thread_counts = sorted({1, args.threads})
    sides = ["frugal"] + peers
    runs = {s: {t: [] for t in thread_counts} for s in sides}
    for rep in range(args.repeats):
        for t in thread_counts:
            runs["frugal"][t].append(frugal_pinned_run(args, tmp, name, t))
            for kind in peers:
                runs[kind][t].append(peer_run(args, tmp, kind, runs["frugal"][t][0], t))
        print(f"  {name} repeat {rep + 1}/{args.repeats}: " + ", ".join(
            f"{s}@{t} {1000 * statistics.median(runs[s][t][-1]['step_seconds']):.1f} ms"
            for t in thread_counts for s in sides), flush=True)
    first = runs["frugal"][args.threads][0]
    batch = first["batch"]
    counts = {kind: runs[kind][thread_counts[0]][0]["parameters"] for kind in peers}
    if len(set(counts.values())) > 1:
        sys.exit(f"vs_peers: {name}: the peers' models differ in parameter count: {counts}")
    summary = {s: {str(t): summarise(r, batch) for t, r in by_t.items()} for s, by_t in runs.items()}
    best = {s: min(summary[s], key=lambda t: summary[s][t]["median_step_seconds"]) for s in sides}
    fastest_peer = min(peers, key=lambda s: summary[s][best[s]]["median_step_seconds"]) if peers else None
    result = {"model": name, "label": base.MODELS[name][2], "batch": batch, "parameters": counts,
              "summary": summary, "best_threads": best, "fastest_peer": fastest_peer, "blas": first["blas"],
              "versions": {k: runs[k][thread_counts[0]][0]["version"] for k in peers}}
    if fastest_peer:
        f, p = summary["frugal"][best["frugal"]], summary[fastest_peer][best[fastest_peer]]
        result["ratio"] = f["median_step_seconds"] / p["median_step_seconds"]
    return result


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            flags = next(line.split(":", 1)[1].split() for line in f if line.startswith("flags"))
    except (OSError, StopIteration):
        return "?"
    wanted = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile"]
    return " ".join(w for w in wanted if w in flags)


def markdown(saved, command):
    m, results = saved["machine"], saved["results"]
    gemm = max(saved["gemm"]["before"], saved["gemm"]["after"], key=lambda g: g["best_gflops_per_second"])
    peers = saved["peers"]
    versions = results[0]["versions"] if results else {}
    ms = lambda s: f"{1000 * s['median_step_seconds']:.1f}"  # noqa: E731
    lines = [
        "# frugal vs PyTorch (eager, torch.compile) and JAX on the CPU", "",
        f"Generated by `{command}` on {m['date']} (frugal {m['frugal_commit']}).", "",
        f"- Machine: {m['cpu']}, {m['cores']} cores; flags: {m['flags']}.",
        f"- frugal: {results[0]['blas'] if results else '?'}; peers: "
        + ", ".join(f"{PEERS[k]} {v}" for k, v in versions.items()) + ".",
        f"- sgemm ceiling (`frugal bench --gemm`, {gemm['threads']} threads): {gemm['best_gflops_per_second']:.1f} GFLOP/s.",
        f"- Load average (1 min) before / after: {m['load_before'][0]:.2f} / {m['load_after'][0]:.2f}.",
        f"- Median training-step time (ms) over {m['steps']} timed steps after {m['warmup']} warm-up steps x "
        f"{m['repeats']} interleaved repeats; each side at its best of 1 and {m['threads']} threads "
        "(threads in brackets); synthetic data, float32, SGD momentum. Compile time = the first step.", "",
        "| model (batch) | frugal | " + " | ".join(PEERS[p] for p in peers)
        + " | frugal / best peer | peak RSS MiB frugal / best peer's |",
        "|---|---:|" + "---:|" * len(peers) + "---:|---|",
    ]
    for r in results:
        s, b = r["summary"], r["best_threads"]
        cells = [f"{ms(s['frugal'][b['frugal']])} ({b['frugal']})"]
        cells += [f"{ms(s[p][b[p]])} ({b[p]})" for p in peers]
        fp = r["fastest_peer"]
        ratio = f"{r['ratio']:.2f} (vs {PEERS[fp]})" if fp else "-"
        rss = (f"{base.mib(s['frugal'][b['frugal']]['peak_rss_bytes']):.0f} / "
               f"{base.mib(s[fp][b[fp]]['peak_rss_bytes']):.0f}") if fp else "-"
        lines.append(f"| {r['label']} ({r['batch']}) | " + " | ".join(cells) + f" | {ratio} | {rss} |")
    lines += ["", "Every side at every thread count (median ms/step; compile time s in brackets):", "",
              "| model | threads | frugal | " + " | ".join(PEERS[p] for p in peers) + " |",
              "|---|---:|---:|" + "---:|" * len(peers)]
    for r in results:
        s = r["summary"]
        for t in s["frugal"]:
            cells = [ms(s["frugal"][t])]
            for p in peers:
                x = s[p][t]
                extra = f" ({x['first_step_seconds']:.1f})" if p in ("compile", "jax") else ""
                cells.append(ms(x) + extra)
            lines.append(f"| {r['label']} | {t} | " + " | ".join(cells) + " |")
    lines += ["", "Per-run medians (ms), in run order:", ""]
    for r in results:
        lines.append(f"- {r['label']}: " + "; ".join(
            f"{side}@{t}: " + ", ".join(f"{1000 * x:.1f}" for x in by_t[t]["run_medians"])
            for side, by_t in r["summary"].items() for t in by_t))
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frugal", default=os.path.join(REPO, "build/frugal"))
    p.add_argument("--venv", default=DEFAULT_VENV, help="the peers' virtual environment (created if missing)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3, help="untimed steps (the first also compiles)")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--models", default="mlp,cnn,resnet20,resnet18")
    p.add_argument("--peers", default="eager,compile,jax", help=f"comma-separated, of {', '.join(PEERS)}")
    p.add_argument("--markdown")
    p.add_argument("--json")
    p.add_argument("--from-json")
    p.add_argument("--worker", nargs=3, metavar=("KIND", "SPEC", "OUT"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(*args.worker)
    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        return write_outputs(args, saved, saved["command"])

    models = [x for x in args.models.split(",") if x]
    peers = [x for x in args.peers.split(",") if x]
    bad = [x for x in models if x not in base.MODELS] + [x for x in peers if x not in PEERS]
    if bad or not models:
        p.error(f"unknown model or peer: {bad or 'no models'}; models: {', '.join(base.MODELS)}; peers: {', '.join(PEERS)}")
    if min(args.threads, args.steps, args.repeats) < 1 or args.warmup < 1:
        p.error("--threads, --steps, --repeats and --warmup must be at least 1")
    if not os.access(args.frugal, os.X_OK):
        p.error(f"--frugal: '{args.frugal}' is not an executable (build it: cmake --build build --target frugal)")
    args.python = ensure_venv(args.venv) if peers else sys.executable

    machine = base.machine_info(args)
    machine.update(steps=args.steps, warmup=args.warmup, repeats=args.repeats, flags=cpu_flags())
    with tempfile.TemporaryDirectory(prefix="frugal_vs_peers_") as tmp:
        before = base.gemm_ceiling(args, tmp)
        results = []
        for name in models:
            print(f"{name}:", flush=True)
            results.append(bench_model(args, tmp, name, peers))
        after = base.gemm_ceiling(args, tmp)
    machine["load_after"] = os.getloadavg()
    saved = {"machine": machine, "peers": peers, "gemm": {"before": before, "after": after}, "results": results}
    return write_outputs(args, saved, "scripts/bench/vs_peers.py " + " ".join(sys.argv[1:]))


def write_outputs(args, saved, command):
    saved["command"] = command
    table = markdown(saved, command)
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table)
    if args.json and not args.from_json:
        with open(args.json, "w") as f:
            json.dump(saved, f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
