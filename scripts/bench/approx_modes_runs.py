#!/usr/bin/env python3
"""Accuracy runs of the randomized_trace and outer_product modes next to exact backprop (issue 6).

Runs `frugal train` once per row, sequentially, into runs/approx/<group>/<row>, and prints a markdown
table of the final test accuracy. Rows already finished (summary.json present) are not rerun.

    scripts/bench/approx_modes_runs.py cnn     # Fashion-MNIST CNN, randomized_trace r in {8, 32, 128}
    scripts/bench/approx_modes_runs.py mlp     # Fashion-MNIST MLP, outer_product K in {B/2, B/4, B/8}
    scripts/bench/approx_modes_runs.py linear  # MNIST-style linear softmax, Mem-AOP-GD's table
    scripts/bench/approx_modes_runs.py linear_sigmoid  # the same with bounded (sigmoid) class scores

Options: --frugal PATH (default build/frugal), --epochs N (override train.epochs), --threads N (1),
--shard I/N (run only rows I, I+N, ... so N processes can share the work; the table lists finished rows).
A run that diverges (frugal stops with "training diverged") is listed as diverged.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def aop_rows(k_values, k_key):
    rows = [("exact", ["backward.default.mode=exact"])]
    for memory in ("true", "false"):
        for policy in ("topk", "weighted", "random"):
            for k in k_values:
                name = f"{policy}_{k_key}{k}_{'mem' if memory == 'true' else 'nomem'}"
                rows.append((name, [f"backward.default.{k_key}={k}", f"backward.default.policy={policy}",
                                    f"backward.default.memory={memory}"]))
    return rows


GROUPS = {
    "cnn": ("configs/fashion_mnist_cnn_randomized_trace.json",
            [("exact", ["backward.default.mode=exact", "backward.layers=[]"])] +
            [(f"r{r}", [f"backward.default.probes={r}"]) for r in (8, 32, 128)]),
    # B = 128: K = 64, 32, 16.
    "mlp": ("configs/fashion_mnist_mlp_outer_product.json", aop_rows((0.5, 0.25, 0.125), "k_fraction")),
    # B = 64: K = 32, 16, 8 as in the paper's table.
    "linear": ("configs/fashion_mnist_linear_softmax_aop.json", aop_rows((32, 16, 8), "k")),
    # The paper squashes the logits with a softmax before CrossEntropy; a sigmoid after the linear layer
    # is the closest layer frugal has: bounded scores, vanishing gradients for saturated samples.
    "linear_sigmoid": ("configs/fashion_mnist_linear_softmax_aop.json",
                       [(n, s + ['model.layers=[{"type":"flatten"},{"type":"linear"},{"type":"sigmoid"}]'])
                        for n, s in aop_rows((32, 16, 8), "k")]),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("group", choices=sorted(GROUPS))
    ap.add_argument("--frugal", default=os.path.join(ROOT, "build", "frugal"))
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--shard", default="0/1")
    args = ap.parse_args()
    shard, shards = (int(v) for v in args.shard.split("/"))
    config, rows = GROUPS[args.group]
    results = []
    for index, (name, sets) in enumerate(rows):
        run_dir = os.path.join(ROOT, "runs", "approx", args.group, name)
        summary_file = os.path.join(run_dir, "summary.json")
        diverged_file = os.path.join(run_dir, "diverged.txt")
        if os.path.exists(diverged_file):
            results.append((name, None))
            continue
        if index % shards != shard and not os.path.exists(summary_file):
            continue
        if not os.path.exists(summary_file):
            cmd = [args.frugal, "train", "--config", os.path.join(ROOT, config), "--set", f"output.dir={run_dir}",
                   "--set", f"threads={args.threads}"]
            if args.epochs:
                cmd += ["--set", f"train.epochs={args.epochs}"]
            for s in sets:
                cmd += ["--set", s]
            print(" ".join(cmd), file=sys.stderr, flush=True)
            run = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            sys.stderr.write(run.stderr)
            if run.returncode != 0:
                if "training diverged" not in run.stderr:
                    raise SystemExit(f"{name} failed (exit {run.returncode})")
                with open(diverged_file, "w") as f:
                    f.write(run.stderr)
                results.append((name, None))
                continue
        with open(summary_file) as f:
            summary = json.load(f)
        results.append((name, summary))
        print(f"{name}: test {summary['test']}", file=sys.stderr, flush=True)
    print(f"| run | test accuracy (%) | train accuracy (%) | seconds |")
    print(f"|---|---|---|---|")
    for name, s in results:
        if s is None:
            print(f"| {name} | diverged | diverged | - |")
            continue
        test = s["test"]["accuracy"]
        train = s["train"]["accuracy"]
        pct = lambda v: "-" if v is None else f"{100 * v:.2f}"
        print(f"| {name} | {pct(test)} | {pct(train)} | {s['train_seconds']:.0f} |")


if __name__ == "__main__":
    main()
