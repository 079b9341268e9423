#!/usr/bin/env python3
"""Interleaved step-time comparison of two frugal binaries (CPU).

Runs `frugal bench` of OLD and NEW alternately, REPS times per config, and prints
the median of the per-run median step times and the NEW/OLD ratio. Used to check
that a refactoring leaves CPU speed unchanged (docs/results/cpu-performance.md).

usage: compare_speed.py OLD NEW [--reps 5] [--steps 10] [--threads 2] CONFIG...
"""
import argparse, json, os, statistics, subprocess, tempfile

def synthetic_for(config):
    # CIFAR is not available offline: its configs run on synthetic 3x32x32 data.
    if os.path.basename(config).startswith("cifar"):
        return ["--set", "data.dataset=synthetic", "--set", "data.synthetic.shape=[3,32,32]"]
    return []

def bench(binary, config, steps, threads):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([binary, "bench", "--config", config, "--steps", str(steps),
                        "--warmup", "2", "--threads", str(threads), "--json", out.name]
                       + synthetic_for(config),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return json.load(open(out.name))["median_step_seconds"] * 1e3

def main():
    p = argparse.ArgumentParser()
    p.add_argument("old"); p.add_argument("new")
    p.add_argument("configs", nargs="+")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    print(f"| config | old ms | new ms | new/old |\n|---|---:|---:|---:|")
    for config in a.configs:
        times = {"old": [], "new": []}
        for rep in range(a.reps):
            order = ("old", "new") if rep % 2 == 0 else ("new", "old")
            for which in order:
                times[which].append(bench(getattr(a, which), config, a.steps, a.threads))
        old, new = statistics.median(times["old"]), statistics.median(times["new"])
        print(f"| {os.path.basename(config)} | {old:.2f} | {new:.2f} | {new / old:.3f} |", flush=True)

if __name__ == "__main__":
    main()
