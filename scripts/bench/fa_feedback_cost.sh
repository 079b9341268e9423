#!/usr/bin/env bash
# fa: what regenerating the feedback matrix B at every backward costs against keeping it as mode state
# (`"memory": true`), on the 1024->1024 layer of an MLP with two hidden layers of 1024 at batch 128
# (docs/results/feedback_alignment.md, "fa: regenerate B or keep it?").
#   scripts/bench/fa_feedback_cost.sh BUILD_DIR OUT_DIR [THREADS] [STEPS] [REPEATS]
# Each run is `frugal profile --time`: the layer's backward is the mean over steps 2..STEPS (default 21).
# The two variants run alternately REPEATS times (default 3), and the median run counts, so load from
# other processes hits both alike. Persistent bytes come from memory.json. Prints a markdown table.
set -euo pipefail
build=${1:-build}
out=${2:-runs/fa_feedback_cost}
threads=${3:-1}
steps=${4:-21}
repeats=${5:-3}
mkdir -p "$out"

for r in $(seq "$repeats"); do
  for memory in false true; do
    "$build/frugal" profile --config configs/feedback_alignment/mlp_depth_profile.json --set 'model.hidden=[1024,1024]' \
      --set backward.default.mode=fa --set backward.default.memory=$memory --set threads=$threads --steps "$steps" \
      --time -o "$out/memory_${memory}_$r" >"$out/memory_${memory}_$r.log" 2>&1
  done
done
python3 - "$out" "$repeats" <<'PY'
import json, statistics, sys
out, repeats = sys.argv[1], int(sys.argv[2])
print("| B | backward of Linear 1024->1024 ms (median of runs) | runs | persistent MiB (weights, grads, momentum, mode state) |")
print("|---|---|---|---|")
for memory in ("false", "true"):
    runs = []
    for r in range(1, repeats + 1):
        d = f"{out}/memory_{memory}_{r}"
        # Timing table rows: name kind fwd bwd-data bwd-wgt GFLOP/s share; the 1024->1024 layer is the second Linear.
        rows = [l.split() for l in open(d + ".log") if len(l.split()) == 7 and l.split()[1] == "Linear"]
        runs.append(float(rows[1][3]) + float(rows[1][4]))
    persistent = json.load(open(d + "/memory.json"))["extra"]["persistent_bytes"]
    name = "kept" if memory == "true" else "regenerated"
    print(f"| {name} | {statistics.median(runs):.2f} | {', '.join(f'{x:.2f}' for x in runs)} | {persistent / 1048576:.1f} |")
PY
