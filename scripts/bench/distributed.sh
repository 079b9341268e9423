#!/usr/bin/env bash
# Data-parallel figures on one machine (docs/distributed.md): ResNet-20 (synthetic CIFAR-sized data unless
# cifar-10-batches-bin is there) and the Fashion-MNIST CNN, at a global batch of 128, as 1 rank x 2 threads
# against 2 ranks x 1 thread, unsharded and with ZeRO-1 / ZeRO-2 (at the default bucket_mb 0.25 and at
# 0.0625, whose smaller gradient slots bring ZeRO-2 closer to half). Prints a markdown table: step time and
# images/s (mean of the progress windows after the first), the gradient channel's busy time per step and
# the share of it that ran during the backward pass, the time the training thread waited for it, the
# buckets, and rank 1's bytes at the memory peak (gradients, optimizer state, planned peak). About 5
# minutes on a quiet 2-core machine at 16 steps; the load average before and after is printed with it.
#
#   scripts/bench/distributed.sh [build/frugal] [out-dir] [steps]     (MODELS="cnn" for one model only)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
frugal="$(realpath "${1:-$root/build/frugal}")"
out="${2:-$(mktemp -d /tmp/frugal_distributed.XXXX)}"
steps="${3:-16}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$out"

resnet=(--config "$root/configs/cifar10_resnet20.json")
if [ ! -d "$root/cifar-10-batches-bin" ]; then
  resnet+=(--set data.dataset=synthetic --set 'data.synthetic.shape=[3,32,32]' --set data.synthetic.train_size=8192
           --set data.synthetic.test_size=512)
fi
cnn=(--config "$root/configs/fashion_mnist_cnn.json" --set data.test_limit=1000)
common=(--set train.max_steps="$steps" --set train.log_every=4 --set train.epochs=1)

run() {  # name ranks threads extra-args...
  local name=$1 ranks=$2 threads=$3
  shift 3
  local batch=$((128 / ranks))
  local args=(train "$@" "${common[@]}" --set threads="$threads" --set data.batch_size="$batch" --output "$out/$name")
  if [ "$ranks" = 1 ]; then "$frugal" "${args[@]}" > "$out/$name.log" 2>&1
  else mpirun --oversubscribe -np "$ranks" "$frugal" "${args[@]}" > "$out/$name.log" 2>&1; fi
}

echo "host $(hostname), $(nproc) cores, $(mpirun --version 2>&1 | head -1), frugal $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'), $steps steps"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for model in ${MODELS:-resnet20 cnn}; do
  if [ "$model" = resnet20 ]; then args=("${resnet[@]}"); else args=("${cnn[@]}"); fi
  run "${model}_1x2" 1 2 "${args[@]}"
  run "${model}_2x1" 2 1 "${args[@]}"
  run "${model}_2x1_zero1" 2 1 "${args[@]}" --set distributed.shard_optimizer_state=true
  run "${model}_2x1_zero2" 2 1 "${args[@]}" --set distributed.shard_optimizer_state=true \
    --set distributed.shard_gradients=true
  run "${model}_2x1_zero2_bucket0.0625" 2 1 "${args[@]}" --set distributed.shard_optimizer_state=true \
    --set distributed.shard_gradients=true --set distributed.bucket_mb=0.0625
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$out" <<'EOF'
import json, re, sys, os
out = sys.argv[1]
print("| run | step ms | img/s | comm ms/step | during backward | waited ms/step | buckets | gradients | optimizer state | planned peak |")
print("|---|---|---|---|---|---|---|---|---|---|")
for name in sorted(os.listdir(out)):
    d = os.path.join(out, name)
    if not os.path.isdir(d): continue
    log = open(os.path.join(d, "log.txt")).read()
    ips = [float(m.group(1)) for m in re.finditer(r" (\d+) img/s mem", log)][1:]
    buckets = re.search(r"\((\d+) buckets", log)
    mean = sum(ips) / len(ips) if ips else float("nan")
    s = json.load(open(os.path.join(d, "summary.json")))
    mem = json.load(open(os.path.join(d, "memory.json")))
    ranks = mem["extra"].get("per_rank")
    cat = ranks[-1]["by_category"] if ranks else mem["by_category"]
    peak = s["per_rank_peak_bytes"][-1] if "per_rank_peak_bytes" in s else mem["peak_bytes"]
    c = s.get("communication")
    comm = "%.1f | %.0f%% | %.1f" % (1e3 * c["busy_seconds_per_step"], 100 * c["overlapped_fraction"],
                                     1e3 * c["waited_seconds_per_step"]) if c else "- | - | -"
    mib = lambda b: "%.2f MiB" % (b / 1048576)
    print("| %s | %.0f | %.0f | %s | %s | %s | %s | %s |" % (name, 128e3 / mean, mean, comm,
                                                         buckets.group(1) if buckets else "-", mib(cat["gradients"]),
                                                         mib(cat["optimizer_state"]), mib(peak)))
EOF
