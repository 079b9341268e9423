#!/usr/bin/env bash
# Memory and step time of exact, fa, dfa and mem_dfa over growing depth (issue 7's table,
# docs/results/feedback_alignment.md): MLPs of width 1024 with 4/8/16/32 hidden layers, CNNs of 2/4/8/16
# conv-BN-ReLU blocks, batch 128, each run `frugal profile --time` (mem_dfa runs its two-pass schedule).
#   scripts/bench/feedback_alignment_profile.sh BUILD_DIR OUT_DIR [THREADS] [STEPS]
# THREADS (default 1): on a shared machine one thread gives the steadiest times. Step time: the mean of
# steps 2..STEPS (default 4; the first warms up). Prints one markdown row per run.
set -euo pipefail
build=${1:-build}
out=${2:-runs/fa_profile}
threads=${3:-1}
steps=${4:-4}
mkdir -p "$out"

hidden() { python3 -c "import sys; print('[' + ','.join(['1024'] * int(sys.argv[1])) + ']')" "$1"; }
conv_layers() {  # n conv-BN-ReLU blocks of 16 channels, global pool, classifier
  python3 -c "
import json, sys
n = int(sys.argv[1]); layers = []
for _ in range(n):
    layers += [{'type': 'conv2d', 'out_channels': 16, 'kernel': 3, 'padding': 1, 'bias': False},
               {'type': 'batchnorm2d'}, {'type': 'relu'}]
layers += [{'type': 'global_avgpool'}, {'type': 'linear'}]
print(json.dumps(layers, separators=(',', ':')))" "$1"
}

row() {  # arch depth mode dir steplog
  python3 - "$@" <<'PY'
import json, re, sys
arch, depth, mode, d, log = sys.argv[1:6]
r = json.load(open(d + "/memory.json"))
act = max(t["live"].get("activations", 0) + t["live"].get("stash", 0) for t in r["timeline"])
stash = max(t["live"].get("stash", 0) for t in r["timeline"])
step = re.findall(r"step ([0-9.]+) ms", open(log).read())[-1]
mib = lambda b: f"{b / 1048576:.1f}"
print(f"| {arch} | {depth} | {mode} | {mib(act)} | {mib(stash)} | {mib(r['peak_bytes'])} | {float(step):.0f} |")
PY
}

run() {  # arch depth mode config set-value
  local arch=$1 depth=$2 mode=$3 config=$4 set=$5 dir="$out/$1_$2_$3"
  "$build/frugal" profile --config "$config" --set "$set" --set backward.default.mode=$mode --set threads=$threads \
    --steps "$steps" --time -o "$dir" >"$dir.log" 2>&1
  row "$arch" "$depth" "$mode" "$dir" "$dir.log"
}

echo "| model | depth | mode | activations+stash peak MiB | stash peak MiB | step peak MiB (all) | step ms |"
echo "|---|---|---|---|---|---|---|"
for depth in 4 8 16 32; do
  for mode in exact fa dfa mem_dfa; do
    run mlp "$depth" "$mode" configs/feedback_alignment/mlp_depth_profile.json "model.hidden=$(hidden "$depth")"
  done
done
for depth in 2 4 8 16; do
  for mode in exact fa dfa mem_dfa; do
    run cnn "$depth" "$mode" configs/feedback_alignment/cnn_depth_profile.json "model.layers=$(conv_layers "$depth")"
  done
done
