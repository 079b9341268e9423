#include "ops/loss.h"

#include "core/error.h"
#include "ops/kernels.h"

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
  return kernels_for(logits.device()).softmax_xent_forward(logits.dim(0), logits.dim(1), logits.device_f32(),
                                           labels.device_data<int32_t>(), label_smoothing_, probs.device_f32());
}

void SoftmaxCrossEntropy::backward(const Tensor& probs, const Tensor& labels, Tensor& grad_logits,
                                   float grad_scale) const {
  kernels_for(probs.device()).softmax_xent_backward(probs.dim(0), probs.dim(1), probs.device_f32(), labels.device_data<int32_t>(),
                                     label_smoothing_, grad_scale, grad_logits.device_f32());
}

int64_t SoftmaxCrossEntropy::count_correct(const Tensor& logits, const Tensor& labels) {
  check(logits, labels);
  return kernels_for(logits.device()).count_correct(logits.dim(0), logits.dim(1), logits.device_f32(), labels.device_data<int32_t>());
}

}  // namespace frugal
