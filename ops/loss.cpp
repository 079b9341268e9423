#include "ops/loss.h"

#include "core/error.h"
#include "ops/cpu/loss_cpu.h"

namespace frugal {
namespace {

void check(const Tensor& logits, const Tensor& labels) {
  if (logits.ndim() != 2 || labels.ndim() != 1 || labels.dim(0) != logits.dim(0))
    throw ShapeError("cross-entropy: expected logits [N, K] and labels [N], got " +
                     logits.shape().str() + " and " + labels.shape().str());
}

}  // namespace

SoftmaxCrossEntropy::SoftmaxCrossEntropy(float label_smoothing) : label_smoothing_(label_smoothing) {
  if (!(label_smoothing >= 0.0f && label_smoothing < 1.0f))
    throw ConfigError("label smoothing must be in [0, 1), got " + std::to_string(label_smoothing));
}

float SoftmaxCrossEntropy::forward(const Tensor& logits, const Tensor& labels, Tensor& probs) const {
  check(logits, labels);
  return softmax_cross_entropy_forward_cpu(logits.dim(0), logits.dim(1), logits.f32(),
                                           labels.data<int32_t>(), label_smoothing_, probs.f32());
}

void SoftmaxCrossEntropy::backward(const Tensor& probs, const Tensor& labels, Tensor& grad_logits) const {
  softmax_cross_entropy_backward_cpu(probs.dim(0), probs.dim(1), probs.f32(), labels.data<int32_t>(),
                                     label_smoothing_, 1.0f, grad_logits.f32());
}

int64_t SoftmaxCrossEntropy::count_correct(const Tensor& logits, const Tensor& labels) {
  check(logits, labels);
  return count_correct_cpu(logits.dim(0), logits.dim(1), logits.f32(), labels.data<int32_t>());
}

}  // namespace frugal
