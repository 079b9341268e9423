#!/usr/bin/env python3
"""Stash bytes per conv under randomized_trace against the predicted factors (issue 6).

Runs `frugal profile --steps 1` for exact backprop and for each probe mode and probe count, reads
memory.json's by_layer, and prints markdown tables: per conv the sketch bytes measured (by_layer
stash_bytes) next to the prediction, 4*B*C*r (independent) or 4*B*r (gaussian, orthogonal), against the
4*B*C*H*W bytes of the input exact backprop keeps; then whole-model totals showing that the saving only
becomes real when the ReLU before each conv keeps a 1-bit mask (fewbit bits=1) instead of its output.

    scripts/bench/randomized_trace_memory.py [--frugal build/frugal] [--models cnn,resnet20]

ResNet-20 runs on synthetic 3x32x32 data (CIFAR-10 is not needed for a memory report).
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROBES = (8, 32, 128)
MODES = ("independent", "gaussian", "orthogonal")


def resnet20_conv_inputs():
    """(C, H, W) of each conv's input in the CIFAR ResNet-20 (width 16)."""
    shapes = {"conv1": (3, 32, 32)}
    stages = [(16, 32), (32, 16), (64, 8)]
    for s, (c, hw) in enumerate(stages):
        for blk in range(3):
            p = f"layer{s + 1}.{blk}"
            block_in = (stages[s - 1][0], stages[s - 1][1], stages[s - 1][1]) if s > 0 and blk == 0 else (c, hw, hw)
            shapes[p + ".conv1"] = block_in
            shapes[p + ".conv2"] = (c, hw, hw)
            if s > 0 and blk == 0:
                shapes[p + ".downsample.0"] = block_in
    return shapes


MODELS = {
    "cnn": {
        "title": "Fashion-MNIST CNN (configs/fashion_mnist_cnn_randomized_trace.json), B = 128",
        "config": "configs/fashion_mnist_cnn_randomized_trace.json",
        "sets": [],
        "relus": ["2", "6", "10"],
        "convs": {"0": (1, 28, 28), "4": (32, 14, 14)},
    },
    "resnet20": {
        "title": "CIFAR ResNet-20 (configs/cifar10_resnet20_randomized_trace.json, synthetic 3x32x32 data), B = 128",
        "config": "configs/cifar10_resnet20_randomized_trace.json",
        "sets": ["data.dataset=synthetic", "data.path=", "data.synthetic.shape=[3,32,32]"],
        "relus": None,  # the config's own fewbit entries
        "convs": resnet20_conv_inputs(),
    },
}


def profile(frugal, model, sets, tag):
    out = os.path.join(ROOT, "runs", "approx", "memory", tag)
    cmd = [frugal, "profile", "--steps", "1", "--config", os.path.join(ROOT, model["config"]), "-o", out,
           "--set", "threads=1"]
    for s in model["sets"] + sets:
        cmd += ["--set", s]
    print(" ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(out, "memory.json")) as f:
        return json.load(f)


def by_name(report):
    return {row["name"]: row for row in report["by_layer"]}


def kib(b):
    return f"{b / 1024:.1f}"


def mib(b):
    return f"{b / 1048576:.2f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frugal", default=os.path.join(ROOT, "build", "frugal"))
    ap.add_argument("--models", default="cnn,resnet20")
    args = ap.parse_args()
    for key in args.models.split(","):
        model = MODELS[key]
        batch = 128
        # Modes on every conv/linear, ReLUs exact: isolates the convs' own stash.
        only_trace = ["backward.layers=[]"]
        exact = profile(args.frugal, model, ["backward.default.mode=exact", "backward.layers=[]"], f"{key}_exact")
        runs = {}
        for mode in MODES:
            for r in PROBES:
                runs[(mode, r)] = by_name(profile(args.frugal, model, only_trace + [
                    "backward.default.mode=randomized_trace", f"backward.default.probe_mode={mode}",
                    f"backward.default.probes={r}"], f"{key}_{mode}_r{r}"))
        print(f"\n### {model['title']}\n")
        print("Stash of each conv in KiB, measured (memory.json by_layer) / predicted; exact keeps the input.\n")
        header = "| conv | input C,H,W | exact input KiB | " + " | ".join(f"{m} r={r}" for m in MODES for r in PROBES) + " |"
        print(header)
        print("|" + "---|" * (3 + len(MODES) * len(PROBES)))
        all_match = True
        for conv, (c, h, w) in model["convs"].items():
            cells = []
            for mode in MODES:
                for r in PROBES:
                    measured = runs[(mode, r)][conv]["stash_bytes"]
                    predicted = 4 * batch * (c * r if mode == "independent" else r)
                    all_match &= measured == predicted
                    ratio = measured / (4 * batch * c * h * w)
                    cells.append(f"{kib(measured)}{'' if measured == predicted else ' (pred ' + kib(predicted) + ')'} (x{ratio:.3g})")
            print(f"| {conv} | {c},{h},{w} | {kib(4 * batch * c * h * w)} | " + " | ".join(cells) + " |")
        print(f"\nEvery measured sketch equals the prediction: {'yes' if all_match else 'NO'}. "
              "(xN = sketch / exact input: r/(H*W) independent, r/(C*H*W) gaussian and orthogonal.)\n")

        # Whole model: exact; randomized_trace with exact ReLUs; with 1-bit fewbit ReLUs.
        relu_sets = []
        if model["relus"]:
            relu_sets = ["backward.layers=[" + ",".join(
                f'{{"match":"{n}","mode":"fewbit","bits":1}}' for n in model["relus"]) + "]"]
        totals = [
            ("exact", exact),
            ("randomized_trace r=32 independent, ReLUs exact",
             profile(args.frugal, model, only_trace + ["backward.default.probes=32"], f"{key}_rt32_relu_exact")),
            ("randomized_trace r=32 independent + fewbit(bits=1) ReLUs",
             profile(args.frugal, model, relu_sets + ["backward.default.probes=32"], f"{key}_rt32_relu_fewbit1")),
        ]
        print("| backward | total stash MiB | peak MiB (planned) | conv stash MiB | ReLU stash MiB |")
        print("|---|---|---|---|---|")
        for name, rep in totals:
            rows = rep["by_layer"]
            conv = sum(r["stash_bytes"] for r in rows if r["kind"] == "Conv2d")
            relu = sum(r["stash_bytes"] for r in rows if r["kind"] == "ReLU")
            print(f"| {name} | {mib(rep['extra']['total_stash_bytes'])} | {mib(rep['peak_bytes'])} | {mib(conv)} | {mib(relu)} |")


if __name__ == "__main__":
    main()
