// Softmax cross-entropy (float32): logits [N, K], labels int32 [N]. Label smoothing as PyTorch's
// CrossEntropyLoss(label_smoothing=eps): target = (1-eps)*onehot + eps/K.
#pragma once
#include <cstdint>

namespace frugal {

// Returns the mean loss over the batch and saves the softmax in probs [N, K]. Throws DataError naming
// the sample index and the label when a label is outside [0, K); ConfigError when label_smoothing is
// outside [0, 1]. The mean is summed in a fixed order, so it does not depend on the thread count.
float softmax_cross_entropy_forward_cpu(int64_t n, int64_t k, const float* logits, const int32_t* labels,
                                        float label_smoothing, float* probs);

// dlogits = grad_scale * (probs - target) / N. dlogits may alias probs.
void softmax_cross_entropy_backward_cpu(int64_t n, int64_t k, const float* probs, const int32_t* labels,
                                        float label_smoothing, float grad_scale, float* dlogits);

// Number of rows whose argmax (first maximum on ties) equals the label.
int64_t count_correct_cpu(int64_t n, int64_t k, const float* logits, const int32_t* labels);

}  // namespace frugal
