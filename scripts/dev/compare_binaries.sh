#!/usr/bin/env bash
# Trains the same short runs with two frugal binaries and checks that they give the same bits: the
# checkpointed weights, optimizer state and every metrics line but timings. Used to show that a
# refactor leaves CPU results unchanged (e.g. against a build of the previous commit).
#   scripts/dev/compare_binaries.sh OLD_BINARY NEW_BINARY [CONFIG...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
old="$1" new="$2"; shift 2
configs=("$@")
if [ ${#configs[@]} -eq 0 ]; then
  configs=(quickstart fashion_mnist_mlp fashion_mnist_cnn_quantized4 fashion_mnist_cnn_fewbit
           fashion_mnist_cnn_randomized_trace fashion_mnist_mlp_outer_product fashion_mnist_cnn_gelu_fewbit2
           feedback_alignment/fashion_mnist_cnn_fa feedback_alignment/fashion_mnist_cnn_dfa
           feedback_alignment/fashion_mnist_mlp_mem_dfa cifar10_resnet20_quantized4)
fi
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
status=0
for c in "${configs[@]}"; do
  file="$root/configs/$c.json"
  args=(--set train.max_steps=12 --set train.epochs=1 --set data.train_limit=768 --set data.test_limit=256)
  case "$c" in cifar10*) args+=(--set data.dataset=synthetic --set "data.synthetic.shape=[3,32,32]" --set data.batch_size=16) ;; esac
  for side in old new; do
    bin="$old"; [ "$side" = new ] && bin="$new"
    "$bin" train --config "$file" "${args[@]}" -o "$work/$side/$c" > "$work/$side.$(basename "$c").log" 2>&1 ||
      { echo "FAIL $c: $side binary exited $? (log: $(tail -1 "$work/$side.$(basename "$c").log"))"; status=1; continue 2; }
  done
  same=yes
  for f in checkpoint/model.safetensors checkpoint/optimizer.safetensors; do
    if [ -f "$work/old/$c/$f" ] && ! cmp -s "$work/old/$c/$f" "$work/new/$c/$f"; then same="no ($f differs)"; fi
  done
  strip() { sed -E 's/"(images_per_second|seconds)":[^,}]*//g' "$1"; }
  if ! diff <(strip "$work/old/$c/metrics.jsonl") <(strip "$work/new/$c/metrics.jsonl") > /dev/null; then
    same="no (metrics.jsonl differs)"
  fi
  echo "$c: bit-identical: $same"
  [ "$same" = yes ] || status=1
done
exit $status
