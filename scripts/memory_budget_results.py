#!/usr/bin/env python3
"""Results of backward.auto (docs/memory_budget.md) for docs/results/memory_budget.md.

For each model: the exact training step and the smallest one the candidate modes reach
(`frugal plan --smallest`), then `frugal plan` at 1/2, 1/4 and 1/8 of the exact step and at the
smallest feasible budget, each plan run for two steps by `frugal profile` (planned vs measured step
peak). Training runs made beforehand (--runs DIR...) add accuracy, peak RSS and step time. Writes the
markdown tables and an SVG plot (no plotting library needed).

  scripts/memory_budget_results.py --frugal build/frugal --work /tmp/mb --runs /tmp/runs/cnn_* \\
      --markdown docs/results/memory_budget.md --svg docs/results/memory_budget.svg
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys

MIB = 1048576.0

MODELS = {
    "fashion_mnist_cnn": {
        "config": "configs/fashion_mnist_cnn.json",
        "sets": ["threads=1"],
        "title": "Fashion-MNIST CNN (batch 128)",
    },
    "resnet20": {
        "config": "configs/cifar10_resnet20.json",
        "sets": ["threads=1", "data.dataset=synthetic", "data.synthetic.shape=[3,32,32]",
                 "data.synthetic.train_size=2560", "data.synthetic.test_size=512", "data.test_batch_size=512",
                 "data.normalize.mean=[]", "data.normalize.std=[]", "data.augment.crop_padding=0",
                 "data.augment.horizontal_flip=false"],
        "title": "ResNet-20 (batch 128, 3x32x32, synthetic data)",
    },
}


def run(cmd, log):
    with open(log, "w") as out:
        return subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT).returncode


def plan(frugal, model, step_mb, out, smallest=False):
    m = MODELS[model]
    cmd = [frugal, "plan", "--config", m["config"], "--step-budget-mb", f"{step_mb:.3f}", "--output", out]
    for s in m["sets"] + ["backward.auto.cache_dir=" + os.path.join(os.path.dirname(out), "cache")]:
        cmd += ["--set", s]
    if smallest:
        cmd.append("--smallest")
    os.makedirs(out, exist_ok=True)
    code = run(cmd, os.path.join(out, "plan.log"))
    text = open(os.path.join(out, "plan.log")).read()
    if code == 0:
        return json.load(open(os.path.join(out, "auto_plan.json")))
    found = re.search(r"smallest training step the candidate modes reach[^:]*: ([0-9.]+) (MiB|KiB|GiB)", text)
    last = text.strip().splitlines()[-1] if text.strip() else ""
    last = re.sub(r"^\[[0-9:.]+\] \[error\] ", "", last)  # the log line's time and level
    return {"refused": True, "exit_code": code, "message": last,
            "smallest_mib": float(found.group(1)) if found else None}


def profile(frugal, model, plan_dir):
    """Two steps of the plan: the memory report's planned and measured step peak."""
    m = MODELS[model]
    cmd = [frugal, "profile", "--config", m["config"], "--steps", "2", "--output", os.path.join(plan_dir, "profile")]
    written = json.load(open(os.path.join(plan_dir, "backward_plan.json")))
    backward = written["backward"]
    for s in m["sets"]:
        cmd += ["--set", s]
    cmd += ["--set", "backward.layers=" + json.dumps(backward["layers"])]
    # The passes a step is split into (train.micro_batches), where the plan needed them.
    cmd += ["--set", "train.micro_batches=%d" % written.get("train", {}).get("micro_batches", 1)]
    if run(cmd, os.path.join(plan_dir, "profile.log")) != 0:
        return None
    mem = json.load(open(os.path.join(plan_dir, "profile", "memory.json")))
    return {"planned": mem["peak_bytes"], "measured": mem["measured_peak_bytes"], "rss": mem["peak_rss_bytes"]}


def collect(frugal, work, model):
    base = os.path.join(work, model)
    ample = plan(frugal, model, 1e6, os.path.join(base, "ample"), smallest=True)
    exact = ample["exact_step_bytes"] / MIB
    smallest = ample["smallest_step_bytes"] / MIB
    rows = []
    budgets = [("1/2", exact / 2), ("1/4", exact / 4), ("1/8", exact / 8)]
    # The smallest feasible budget: the smallest step found, rounded up to 0.1 MiB (and retried a little
    # higher when the time bound needs it).
    budgets.append(("smallest feasible", int(smallest * 10 + 1) / 10.0))
    for label, mb in budgets:
        out = os.path.join(base, "plan_" + label.replace("/", "_").replace(" ", "_"))
        p = plan(frugal, model, mb, out)
        tries = 0
        while label == "smallest feasible" and p.get("refused") and tries < 5:
            mb = (p["smallest_mib"] or mb) + 0.1 * (tries + 1)
            p = plan(frugal, model, mb, out)
            tries += 1
        row = {"label": label, "budget_mib": mb, "plan": p}
        if not p.get("refused"):
            row["profile"] = profile(frugal, model, out)
        rows.append(row)
    return {"exact_mib": exact, "smallest_mib": smallest, "rows": rows, "ample": ample}


def run_summary(run_dir):
    s = json.load(open(os.path.join(run_dir, "summary.json")))
    mem = json.load(open(os.path.join(run_dir, "memory.json")))
    metrics = [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl")) if l.strip()]
    seconds = sum(m["seconds"] for m in metrics)
    steps = s["steps"]
    proc = mem.get("process", {})
    return {"name": os.path.basename(run_dir), "accuracy": s["test"]["accuracy"], "epochs": s["epochs_completed"],
            "status": s["status"], "step_ms": 1e3 * seconds / max(steps, 1), "peak_rss": s["peak_rss_bytes"],
            "step_planned": mem["peak_bytes"], "step_measured": mem["measured_peak_bytes"],
            "process_predicted": proc.get("predicted", {}).get("total_bytes"),
            "auto": mem.get("extra", {}).get("backward_auto")}


def fmt(x, digits=4):
    return "-" if x is None else f"{x:.{digits}g}"


def markdown(results, runs):
    lines = []
    for model, r in results.items():
        lines.append(f"### {MODELS[model]['title']}\n")
        lines.append(f"Exact step: {r['exact_mib']:.1f} MiB; smallest step the candidates reach: "
                     f"{r['smallest_mib']:.1f} MiB ({r['smallest_mib'] / r['exact_mib']:.2f} of exact).\n")
        lines.append("| budget | step budget | planned step | measured step | pred. error | meas. error | cosine | "
                     "pred. time | planning s | measuring s | plan |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
        refusals = []
        for row in r["rows"]:
            p = row["plan"]
            if p.get("refused"):
                p["message"] = re.sub(r"^\[[0-9:.]+\] \[error\] ", "", p["message"])
                lines.append(f"| {row['label']} | {row['budget_mib']:.1f} MiB | refused (exit {p['exit_code']}): "
                             f"smallest {fmt(p['smallest_mib'], 3)} MiB | | | | | | | | |")
                refusals.append(f"- {row['label']}: `{p['message']}`")
                continue
            prof = row.get("profile") or {}
            modes = {}
            for layer in p["layers"]:
                modes[layer["mode"]] = modes.get(layer["mode"], 0) + 1
            summary = ", ".join(f"{k} x{v}" for k, v in sorted(modes.items(), key=lambda kv: -kv[1]))
            if p.get("micro_batches", 1) > 1:
                summary = (f"{p['micro_batches']} passes of {p['batch_size'] // p['micro_batches']} "
                           f"(split alone: error {fmt(p['micro_batch_error'], 3)}, x{p['micro_batch_slowdown']:.2f}); "
                           + summary)
            lines.append(f"| {row['label']} | {row['budget_mib']:.1f} MiB | {p['planned_step_bytes'] / MIB:.1f} MiB | "
                         f"{prof.get('measured', 0) / MIB:.1f} MiB | {fmt(p['predicted_error'])} | "
                         f"{fmt(p['measured_error'])} | {fmt(p['measured_cosine'], 5)} | "
                         f"x{p['predicted_slowdown']:.2f} | {p['planning_seconds']:.2f} | {p['measuring_seconds']:.1f} | "
                         f"{summary} |")
        lines.append("")
        if refusals:
            lines.append("Refused budgets (exit 2), the planner's message:\n")
            lines += refusals
            lines.append("")
        lines.append("Uniform single-mode configurations beside the automatic plan (measured gradient error on the "
                     "same batches; `no` = does not fit that budget):\n")
        feasible = [row for row in r["rows"] if not row["plan"].get("refused")]
        header = "| mode | step | " + " | ".join(f"{row['label']} ({row['budget_mib']:.1f} MiB)" for row in feasible) + " |"
        lines.append(header)
        lines.append("|---|---|" + "---|" * len(feasible))
        specs = [u["mode"] for u in feasible[0]["plan"]["uniform"]] if feasible else []
        lines.append("| **auto** | | " + " | ".join(fmt(row["plan"]["measured_error"]) for row in feasible) + " |")
        for spec in specs:
            cells = []
            step = None
            for row in feasible:
                u = next(x for x in row["plan"]["uniform"] if x["mode"] == spec)
                if row["plan"].get("micro_batches", 1) == 1:
                    step = u["step_bytes"] / MIB
                cell = fmt(u["measured_error"]) if u["fits"] else "no"
                if row["plan"].get("micro_batches", 1) > 1:  # its step in the plan's passes
                    cell += f" ({u['step_bytes'] / MIB:.1f} MiB in {row['plan']['micro_batches']} passes)"
                cells.append(cell)
            lines.append(f"| {spec} | {fmt(step, 4)} MiB | " + " | ".join(cells) + " |")
        lines.append("")
    if runs:
        lines.append("### Training runs\n")
        lines.append("| run | epochs | test accuracy | step ms | step planned | step measured | process predicted | "
                     "peak RSS |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for s in runs:
            lines.append(f"| {s['name']} | {s['epochs']} ({s['status']}) | {100 * s['accuracy']:.2f}% | "
                         f"{s['step_ms']:.0f} | {s['step_planned'] / MIB:.1f} MiB | {s['step_measured'] / MIB:.1f} MiB | "
                         f"{fmt((s['process_predicted'] or 0) / MIB, 4)} MiB | {s['peak_rss'] / MIB:.1f} MiB |")
        lines.append("")
    return "\n".join(lines)


class Svg:
    def __init__(self, width, height):
        self.w, self.h, self.items = width, height, []

    def add(self, s):
        self.items.append(s)

    def text(self, x, y, s, size=11, anchor="start", rotate=None):
        t = f' transform="rotate({rotate} {x} {y})"' if rotate else ""
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{t}>{s}</text>')

    def render(self):
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.w}" height="{self.h}" '
                f'font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n' +
                "\n".join(self.items) + "\n</svg>\n")


def panel(svg, x0, y0, w, h, title, xlabel, ylabel, series, xmax, ymax):
    """series: (label, colour, [(x, y)], line?)"""
    svg.add(f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#888"/>')
    svg.text(x0 + w / 2, y0 - 8, title, 12, "middle")
    svg.text(x0 + w / 2, y0 + h + 30, xlabel, 11, "middle")
    svg.text(x0 - 42, y0 + h / 2, ylabel, 11, "middle", rotate=-90)
    for i in range(6):
        xv, yv = xmax * i / 5, ymax * i / 5
        px, py = x0 + w * i / 5, y0 + h - h * i / 5
        svg.add(f'<line x1="{px:.1f}" y1="{y0 + h}" x2="{px:.1f}" y2="{y0 + h + 4}" stroke="#888"/>')
        svg.text(px, y0 + h + 16, f"{xv:.0f}", 10, "middle")
        svg.add(f'<line x1="{x0 - 4}" y1="{py:.1f}" x2="{x0}" y2="{py:.1f}" stroke="#888"/>')
        svg.text(x0 - 6, py + 3, f"{yv:.3g}", 10, "end")
    ly = y0 + 14
    for label, colour, points, line in series:
        pts = [(x0 + w * min(px, xmax) / xmax, y0 + h - h * min(py, ymax) / ymax) for px, py in points]
        if line and len(pts) > 1:
            svg.add('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' %
                    (colour, " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)))
        for a, b in pts:
            shape = f'<circle cx="{a:.1f}" cy="{b:.1f}" r="4" fill="{colour}"/>' if line else \
                f'<rect x="{a - 3.5:.1f}" y="{b - 3.5:.1f}" width="7" height="7" fill="none" stroke="{colour}" stroke-width="1.5"/>'
            svg.add(shape)
        if points:
            svg.add(f'<line x1="{x0 + w - 150}" y1="{ly - 4}" x2="{x0 + w - 135}" y2="{ly - 4}" stroke="{colour}" stroke-width="2"/>')
            svg.text(x0 + w - 130, ly, label, 10)
            ly += 14


def plot(results, runs, path):
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf", "#393b79", "#637939"]
    svg = Svg(980, 330 * len(results) + 40)
    for k, (model, r) in enumerate(results.items()):
        y0 = 40 + 330 * k
        feasible = [row for row in r["rows"] if not row["plan"].get("refused")]
        auto_err = [(row["plan"]["planned_step_bytes"] / MIB, row["plan"]["measured_error"]) for row in feasible]
        series = [("auto (planned step)", "#000000", sorted(auto_err), True)]
        if feasible:
            for i, u in enumerate(feasible[-1]["plan"]["uniform"]):
                pts = [(u["step_bytes"] / MIB, x["measured_error"]) for row in feasible
                       for x in row["plan"]["uniform"] if x["mode"] == u["mode"] and x["fits"]]
                series.append((u["mode"], colours[i % len(colours)], pts[:1], False))
        ymax = max([e for _, e in auto_err] + [p[0][1] for _, _, p, line in series if not line and p] + [0.1]) * 1.1
        panel(svg, 70, y0, 380, 230, MODELS[model]["title"], "training step, MiB", "gradient error (rel. L2)",
              series, r["exact_mib"] * 1.05, ymax)
        # Accuracy and peak RSS of the training runs of this model.
        mine = [s for s in runs if model.split("_")[0] in s["name"] or model in s["name"]]
        acc = [(s["step_planned"] / MIB, 100 * s["accuracy"]) for s in mine]
        rss = [(s["step_planned"] / MIB, s["peak_rss"] / MIB) for s in mine]
        if acc:
            lo = min(a for _, a in acc)
            panel(svg, 560, y0, 380, 230, "training runs", "training step, MiB", "test accuracy % / peak RSS MiB",
                  [("test accuracy %", "#1f77b4", sorted(acc), False), ("peak RSS MiB", "#d62728", sorted(rss), False)],
                  r["exact_mib"] * 1.05, max(max(a for _, a in acc), max(b for _, b in rss)) * 1.1)
            svg.text(750, y0 + 250, f"lowest accuracy {lo:.2f}%", 10, "middle")
    open(path, "w").write(svg.render())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frugal", default="build/frugal")
    ap.add_argument("--work", required=True, help="where plans and profiles go (reused when present)")
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    ap.add_argument("--runs", nargs="*", default=[], help="training run directories")
    ap.add_argument("--markdown", help="write the tables here")
    ap.add_argument("--svg", help="write the plot here")
    args = ap.parse_args()
    results = {}
    for model in args.models:
        cached = os.path.join(args.work, model, "results.json")
        if os.path.exists(cached):
            results[model] = json.load(open(cached))
        else:
            results[model] = collect(args.frugal, args.work, model)
            json.dump(results[model], open(cached, "w"), indent=1)
    runs = []
    for d in sorted(set(sum((glob.glob(r) for r in args.runs), []))):
        if os.path.exists(os.path.join(d, "summary.json")):
            runs.append(run_summary(d))
    text = markdown(results, runs)
    if args.markdown:
        open(args.markdown, "w").write(text)
    else:
        sys.stdout.write(text)
    if args.svg:
        plot(results, runs, args.svg)


if __name__ == "__main__":
    main()
