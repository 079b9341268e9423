#!/usr/bin/env python3
"""Predicted against measured process memory (docs/memory_budget.md, "The whole process") for every
config in configs/: a short `frugal train` of each (a few steps and one evaluation, one thread), then
memory.json's process section. CIFAR configs run on synthetic 3x32x32 data when the CIFAR files are not
there (the dataset part is then the synthetic one's). Prints a markdown table; exit 1 when a measured
peak RSS is more than 10% away from its prediction.

  scripts/process_memory_check.py --frugal build/frugal --work /tmp/pm [--steps 3]
"""
import argparse
import glob
import json
import os
import subprocess
import sys

MIB = 1048576.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frugal", default="build/frugal")
    ap.add_argument("--work", required=True)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--configs", nargs="*", default=None)
    args = ap.parse_args()
    configs = args.configs or sorted(c for c in glob.glob("configs/**/*.json", recursive=True) if "/base/" not in c)
    rows, bad = [], 0
    for c in configs:
        name = os.path.splitext(c[len("configs/"):])[0].replace("/", "_")
        out = os.path.join(args.work, name)
        sets = ["threads=1", f"train.max_steps={args.steps}", "train.epochs=1", "data.test_limit=1000"]
        text = open(c).read()
        synthetic = "resnet" in name or "cifar" in text
        if synthetic:
            classes = 100 if "cifar100" in name else 10
            sets += ["data.dataset=synthetic", "data.synthetic.shape=[3,32,32]", "data.synthetic.train_size=1280",
                     "data.synthetic.test_size=1000", f"data.synthetic.classes={classes}"]
        note = " (synthetic data)" if synthetic else ""
        if "resnet164" in name:  # its steps take minutes on one thread at batch 128
            sets += ["data.batch_size=32"]
            note += " (batch 32)"
        cmd = [args.frugal, "train", "--config", c, "--output", out]
        for s in sets:
            cmd += ["--set", s]
        os.makedirs(out, exist_ok=True)
        with open(out + ".log", "w") as log:
            code = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT).returncode
        if code != 0 and "no IDX image file" in open(out + ".log").read():
            rows.append(f"| {c} | not run: its data is not on this machine | | | |")
            continue
        if code != 0:
            rows.append(f"| {c} | failed (exit {code}, {out}.log) | | | |")
            bad += 1
            continue
        p = json.load(open(os.path.join(out, "memory.json")))["process"]
        predicted = p["predicted"]["total_bytes"]
        measured = p["measured"]["peak_rss_bytes"]
        ratio = measured / predicted
        ok = abs(ratio - 1) <= 0.10
        bad += not ok
        rows.append(f"| {c}{note} | {predicted / MIB:.1f} MiB | "
                    f"{measured / MIB:.1f} MiB | {ratio:.3f} | {'yes' if ok else '**no**'} |")
        print(rows[-1], file=sys.stderr)
    print("| config | predicted peak | measured peak RSS | measured / predicted | within 10% |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
