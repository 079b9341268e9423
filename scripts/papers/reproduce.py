#!/usr/bin/env python3
"""Reproduces one paper's claims on this machine and writes docs/results/<paper>.md.

  scripts/reproduce.sh <paper> [--jobs N] [--frugal BIN] [--runs DIR] [--docs DIR] [--fresh] [--report-only]

<paper> is one of the specs in scripts/papers/ (blpa, few_bit_backward, xconv, mem_aop_gd, mem_dfa). A
spec names the paper's headline setups (configs/papers/<paper>/, listed, not run: their data sets or run
times are beyond this machine), the Fashion-MNIST counterpart sweeps that are run, an optional
`frugal gradcheck`, and the paper's claims, each with the check that holds our runs against it.

Steps: `frugal sweep` for each sweep (into <runs>/<paper>/<sweep>; an interrupted reproduction resumes
where it stopped), `frugal compare` over all of them (<runs>/<paper>/compare), then the page: the
comparison table, its figures (copied to docs/results/<paper>/), and the claims table with the paper's
statement, our number and whether it agrees. --report-only rewrites the page from existing runs; --fresh
deletes the paper's earlier runs first (needed after its spec or configs changed: a sweep refuses a
directory holding a different sweep).
Only the standard library is needed.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIGURES = [("compare-accuracy.svg", "Test accuracy per epoch"), ("compare-loss.svg", "Test loss per epoch"),
           ("compare-pareto.svg", "Final test accuracy against peak planned memory (dashed: Pareto front)"),
           ("compare-step-time.svg", "Time per training step against peak planned memory")]


def run(cmd):
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, cwd=REPO)


def source_commit():
    """The checkout's commit (short hash, '+changes' when files outside docs/ differ from it), or None outside git."""
    try:
        head = subprocess.run(["git", "-C", REPO, "rev-parse", "--short=7", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+changes" if dirty else "")


# --- reading runs ---------------------------------------------------------------------------------

def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def read_runs(sweep_dirs):
    """label -> {summary, memory, metrics} for every run of the sweeps."""
    runs = {}
    for sweep in sweep_dirs:
        index = load_json(os.path.join(sweep, "sweep.json"))
        for entry in index["runs"]:
            d = os.path.join(sweep, entry["dir"])
            metrics = []
            if os.path.exists(os.path.join(d, "metrics.jsonl")):
                with open(os.path.join(d, "metrics.jsonl")) as f:
                    metrics = [json.loads(line) for line in f if line.strip()]
            runs[entry["label"]] = {"summary": load_json(os.path.join(d, "summary.json")),
                                    "memory": load_json(os.path.join(d, "memory.json")), "metrics": metrics}
    return runs


def accuracy(run):
    s = run["summary"]
    if s and s["test"]["accuracy"] is not None:
        return 100 * s["test"]["accuracy"]
    return None


def metric(run, name):
    mem = run["memory"] or {}
    extra = mem.get("extra", {})
    if name == "stash":
        return extra.get("total_stash_bytes")
    if name == "peak":
        return mem.get("peak_bytes")
    if name == "step_arena":
        return extra.get("step_arena_bytes")
    if name == "step_time":
        # The fastest epoch's time per step: other work on the machine only ever slows an epoch down,
        # so the minimum is the least disturbed (a run's mean moved a ratio claim across its threshold).
        best, previous = None, 0
        for m in run["metrics"]:
            steps = m["step"] - previous
            previous = m["step"]
            if steps > 0 and (best is None or m["seconds"] / steps < best):
                best = m["seconds"] / steps
        return best
    if name.startswith("kind_stash:"):
        kind = name.split(":", 1)[1]
        return sum(row["stash_bytes"] for row in mem.get("by_layer", []) if row["kind"] == kind)
    raise ValueError("unknown metric " + name)


def fmt_metric(name, value):
    if value is None:
        return "n/a"
    if name == "step_time":
        return f"{value * 1000:.1f} ms"
    return f"{value / 1048576:.2f} MiB"


# --- claims ---------------------------------------------------------------------------------------

def check_claim(check, runs, gradcheck):
    """(our number as text, agrees: True/False/None, the rule applied)."""
    kind = check["kind"]
    missing = [k for k in ("run", "baseline", "higher", "lower") if k in check and check[k] not in runs]
    if missing:
        return "run missing: " + ", ".join(check[k] for k in missing), None, ""
    if kind == "accuracy_gap":
        a, b = accuracy(runs[check["run"]]), accuracy(runs[check["baseline"]])
        if a is None or b is None:
            return "no accuracy", None, ""
        gap = a - b
        return (f"{a:.2f}% vs {b:.2f}%: {gap:+.2f} pp", gap >= check["min_pp"],
                f"agrees when the gap is at least {check['min_pp']:+.1f} pp")
    if kind == "accuracy_order":
        hi, lo = accuracy(runs[check["higher"]]), accuracy(runs[check["lower"]])
        if hi is None or lo is None:
            return "no accuracy", None, ""
        return (f"{hi:.2f}% vs {lo:.2f}%: {hi - lo:+.2f} pp", hi - lo > check["min_pp"],
                f"agrees when {check['higher']} beats {check['lower']} by more than {check['min_pp']:.1f} pp")
    if kind == "metric_ratio":
        name = check["metric"]
        a, b = metric(runs[check["run"]], name), metric(runs[check["baseline"]], name)
        if not a or not b:
            return "no measurement", None, ""
        ratio = a / b
        text = f"{fmt_metric(name, a)} vs {fmt_metric(name, b)}: x{ratio:.3f} (1/{b / a:.1f})"
        if "at_most" in check:
            return text, ratio <= check["at_most"], f"agrees when the ratio is at most {check['at_most']}"
        return text, ratio >= check["at_least"], f"agrees when the ratio is at least {check['at_least']}"
    if kind == "flat_in_depth":
        name = check["metric"]
        values = [metric(runs[r], name) for r in check["runs"] if r in runs]
        if len(values) < 2 or not all(values):
            return "runs missing", None, ""
        ratio = max(values) / min(values)
        text = f"{fmt_metric(name, min(values))} .. {fmt_metric(name, max(values))}: x{ratio:.2f} from the shallowest to the deepest"
        contrast = [metric(runs[r], name) for r in check.get("contrast", []) if r in runs]
        if len(contrast) == 2 and all(contrast):
            text += f" (backprop: {fmt_metric(name, contrast[0])} .. {fmt_metric(name, contrast[1])}, x{contrast[1] / contrast[0]:.2f})"
        return text, ratio <= check["max_ratio"], f"agrees when the growth is at most x{check['max_ratio']}"
    if kind == "gradcheck_scaling":
        if not gradcheck:
            return "no gradcheck", None, ""
        err = {r["modes"]: r["total"]["rel_l2"] for r in gradcheck["results"]}
        low, high = err.get(check["low"]), err.get(check["high"])
        if low is None or high is None:
            return "gradcheck modes missing", None, ""
        ratio = low / high
        tol = check["tolerance"]
        return (f"relative error {low:.3f} -> {high:.3f}: x{ratio:.2f} smaller (1/sqrt law: x{check['expected']:.1f})",
                abs(ratio / check["expected"] - 1) <= tol, f"agrees within {tol:.0%} of the law")
    raise ValueError("unknown check " + kind)


def verdict(agrees):
    return {True: "**yes**", False: "**no**", None: "not measured"}[agrees]


# --- the page -------------------------------------------------------------------------------------

def write_page(paper, spec, out_md, figures_dir, compare_dir, runs, gradcheck, timing):
    rel_fig = os.path.basename(figures_dir)
    lines = [f"# Reproduction: {spec['title']}", "",
             f"{spec['authors']}, *{spec['title']}*, {spec['venue']}.", "",
             f"frugal mode: {spec['mode']}.", "",
             "This page is written by `scripts/reproduce.sh " + paper + "` (scripts/papers/reproduce.py); "
             "edit scripts/papers/" + paper + ".json, not this file.", "",
             "## The paper's headline setups", "",
             "Configs for the paper's own experiments. They are not run by the script: their data sets (CIFAR, "
             "ImageNet, MNIST) are not on this machine, and their run times are days of CPU time.", "",
             "| config | setup |", "|---|---|"]
    for config, what in spec["headline_configs"]:
        lines.append(f"| `{config}` | {what} |")
    lines += ["", "## The Fashion-MNIST counterpart", "", spec["counterpart"], ""]
    lines.append("```")
    for sweep in spec["sweeps"]:
        cmd = ["build/frugal", "sweep", "--config", sweep["config"]]
        for s in sweep.get("sets", []):
            cmd += ["--set", s]
        for g in sweep["grid"]:
            cmd += ["--grid", g]
        cmd += ["-o", f"runs/papers/{paper}/{sweep['name']}"]
        lines.append(" ".join(cmd))
    if spec.get("gradcheck"):
        g = spec["gradcheck"]
        lines.append(" ".join(["build/frugal", "gradcheck", "--config", g["config"]] +
                              sum([["--set", s] for s in g.get("sets", [])], []) +
                              ["--modes", ",".join(g["modes"]), "--batches", str(g["batches"]), "--draws",
                               str(g["draws"]), "-o", f"runs/papers/{paper}/gradcheck"]))
    lines.append("build/frugal compare " + " ".join(f"runs/papers/{paper}/{s['name']}" for s in spec["sweeps"]) +
                 f" -o runs/papers/{paper}/compare")
    lines += ["```", "",
              f"Run on {timing['date']}"
              + (f" from commit {timing['commit']}" if timing.get("commit") else "")
              + f", {platform.machine()}, one thread per run, "
              f"{timing['jobs']} run(s) at a time, {timing['seconds'] / 60:.1f} minutes in all. The machine is shared with other "
              "work and noisy: times and images/s are indicative only; accuracies and memory do not depend on it "
              "(bit-identical for a fixed seed and the same kernels; a change of convolution algorithm, such as "
              "Winograd for 32-channel convs, rounds differently and moves accuracies by up to about a point).",
              "", "## Results", ""]
    with open(os.path.join(compare_dir, "compare.md")) as f:
        lines.append(f.read().rstrip())
    lines.append("")
    for svg, caption in FIGURES:
        lines += [f"![{caption}]({rel_fig}/{svg})", ""]
    if gradcheck:
        lines += ["Gradient error against exact backprop (`frugal gradcheck`, all conv weights, "
                  f"{spec['gradcheck']['batches']} batches x {spec['gradcheck']['draws']} draws):", "",
                  "| mode | relative L2 error | cosine |", "|---|---:|---:|"]
        for r in gradcheck["results"]:
            lines.append(f"| {r['modes']} | {r['total']['rel_l2']:.3f} | {r['total']['cosine']:.3f} |")
        lines.append("")
    lines += ["## The paper's claims beside ours", "",
              "| claim | the paper | ours (Fashion-MNIST counterpart) | agrees? |", "|---|---|---|---|"]
    for c in spec["claims"]:
        ours, agrees, rule = check_claim(c["check"], runs, gradcheck)
        lines.append(f"| {c['claim']} | {c['paper']} | {ours} | {verdict(agrees)}{' (' + rule + ')' if rule else ''} |")
    lines.append("")
    if spec.get("reported_table"):
        t = spec["reported_table"]
        lines += [t["caption"] + ":", "", "| " + " | ".join(t["header"]) + " |",
                  "|" + "---|" * len(t["header"])]
        lines += ["| " + " | ".join(row) + " |" for row in t["rows"]]
        lines.append("")
    lines += ["What is verified: " + spec["notes"], ""]
    with open(out_md, "w") as f:
        f.write("\n".join(lines))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paper")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--frugal", default=os.environ.get("FRUGAL_BIN", os.path.join(REPO, "build", "frugal")))
    p.add_argument("--runs", default=os.path.join(REPO, "runs", "papers"))
    p.add_argument("--docs", default=os.path.join(REPO, "docs", "results"))
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--fresh", action="store_true")
    args = p.parse_args()
    spec_file = os.path.join(REPO, "scripts", "papers", args.paper + ".json")
    if not os.path.exists(spec_file):
        names = sorted(f[:-5] for f in os.listdir(os.path.dirname(spec_file)) if f.endswith(".json"))
        sys.exit(f"reproduce: unknown paper '{args.paper}' (known: {', '.join(names)})")
    spec = load_json(spec_file)
    root = os.path.join(args.runs, args.paper)
    if args.fresh and not args.report_only and os.path.isdir(root):
        shutil.rmtree(root)
    started = datetime.datetime.now()
    sweep_dirs = [os.path.join(root, s["name"]) for s in spec["sweeps"]]
    gradcheck_dir = os.path.join(root, "gradcheck")
    if not args.report_only:
        for sweep, out in zip(spec["sweeps"], sweep_dirs):
            cmd = [args.frugal, "sweep", "--config", sweep["config"], "--jobs", str(args.jobs), "-o", out]
            for s in sweep.get("sets", []):
                cmd += ["--set", s]
            for g in sweep["grid"]:
                cmd += ["--grid", g]
            run(cmd)
        if spec.get("gradcheck"):
            g = spec["gradcheck"]
            cmd = [args.frugal, "gradcheck", "--config", g["config"], "--modes", ",".join(g["modes"]),
                   "--batches", str(g["batches"]), "--draws", str(g["draws"]), "-o", gradcheck_dir]
            for s in g.get("sets", []):
                cmd += ["--set", s]
            run(cmd)
        with open(os.path.join(root, "elapsed.json"), "w") as f:  # for pages rewritten with --report-only
            json.dump({"seconds": (datetime.datetime.now() - started).total_seconds(),
                       "date": started.date().isoformat(), "jobs": args.jobs, "commit": source_commit()}, f)
    compare_dir = os.path.join(root, "compare")
    run([args.frugal, "compare"] + sweep_dirs + ["-o", compare_dir])
    timing = load_json(os.path.join(root, "elapsed.json")) or {"seconds": 0, "date": "?", "jobs": args.jobs}
    figures_dir = os.path.join(args.docs, args.paper)
    os.makedirs(figures_dir, exist_ok=True)
    for svg, _ in FIGURES:
        shutil.copyfile(os.path.join(compare_dir, svg), os.path.join(figures_dir, svg))
    gradcheck = load_json(os.path.join(gradcheck_dir, "gradcheck.json")) if spec.get("gradcheck") else None
    out_md = os.path.join(args.docs, args.paper + ".md")
    write_page(args.paper, spec, out_md, figures_dir, compare_dir, read_runs(sweep_dirs), gradcheck, timing)
    print(f"written: {out_md}", file=sys.stderr)


if __name__ == "__main__":
    main()
