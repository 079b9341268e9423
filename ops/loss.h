// Softmax cross-entropy over integer labels, mean over the batch, optional label smoothing.
#pragma once
#include "core/tensor.h"

namespace frugal {

class SoftmaxCrossEntropy {
 public:
  explicit SoftmaxCrossEntropy(float label_smoothing = 0.0f);
  // logits [N, K], labels I32 [N]; writes probs [N, K] (kept for backward). Returns the mean loss.
  float forward(const Tensor& logits, const Tensor& labels, Tensor& probs) const;
  // dlogits = grad_scale (probs - target) / N (grad_scale 1/k: one of k equal micro-batches of a mean)
  void backward(const Tensor& probs, const Tensor& labels, Tensor& grad_logits, float grad_scale = 1.0f) const;
  // Number of samples whose arg-max logit equals the label.
  static int64_t count_correct(const Tensor& logits, const Tensor& labels);

 private:
  float label_smoothing_;
};

}  // namespace frugal
