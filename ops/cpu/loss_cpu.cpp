#include "ops/cpu/loss_cpu.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace frugal {
namespace {

constexpr int64_t kParallelMinElements = 1 << 15;
// Rows are summed in this many fixed chunks, then the chunks in order: the mean is the same for any
// thread count.
constexpr int64_t kLossChunks = 64;

void check_inputs(int64_t n, int64_t k, const int32_t* labels, float label_smoothing, const char* where) {
  FRUGAL_CHECK(n >= 1 && k >= 1, ShapeError,
               std::string(where) + ": logits must be [N, K] with N, K >= 1, got [" + std::to_string(n) +
                   ", " + std::to_string(k) + "]");
  FRUGAL_CHECK(label_smoothing >= 0.0f && label_smoothing <= 1.0f, ConfigError,
               std::string(where) + ": label_smoothing must be in [0, 1], got " +
                   std::to_string(label_smoothing));
  for (int64_t i = 0; i < n; ++i) {
    FRUGAL_CHECK(labels[i] >= 0 && labels[i] < k, DataError,
                 std::string(where) + ": sample " + std::to_string(i) + " has label " +
                     std::to_string(labels[i]) + ", expected a class in [0, " + std::to_string(k) + ")");
  }
}

// Softmax of one row z [K] into probs [K]; returns the row's loss -sum_j target_j * log p_j
// = logsumexp(z) - (1-eps) * z[label] - (eps/K) * sum_j z_j.
double softmax_row(int64_t k, const float* z, int32_t label, double eps, float* probs) {
  const float z_max = *std::max_element(z, z + k);
  double exp_sum = 0.0, z_sum = 0.0;
  for (int64_t j = 0; j < k; ++j) {
    const float e = std::exp(z[j] - z_max);
    probs[j] = e;
    exp_sum += e;
    z_sum += z[j];
  }
  const float inv = static_cast<float>(1.0 / exp_sum);
  for (int64_t j = 0; j < k; ++j) probs[j] *= inv;
  const double log_sum_exp = z_max + std::log(exp_sum);
  return log_sum_exp - (1.0 - eps) * z[label] - eps / static_cast<double>(k) * z_sum;
}

}  // namespace

float softmax_cross_entropy_forward_cpu(int64_t n, int64_t k, const float* logits, const int32_t* labels,
                                        float label_smoothing, float* probs) {
  check_inputs(n, k, labels, label_smoothing, "softmax_cross_entropy_forward_cpu");
  double chunk_sums[kLossChunks] = {};
#pragma omp parallel for schedule(static) if (n * k >= kParallelMinElements)
  for (int64_t chunk = 0; chunk < kLossChunks; ++chunk) {
    double sum = 0.0;
    for (int64_t i = n * chunk / kLossChunks; i < n * (chunk + 1) / kLossChunks; ++i)
      sum += softmax_row(k, logits + i * k, labels[i], label_smoothing, probs + i * k);
    chunk_sums[chunk] = sum;
  }
  double total = 0.0;
  for (double s : chunk_sums) total += s;
  return static_cast<float>(total / static_cast<double>(n));
}

void softmax_cross_entropy_backward_cpu(int64_t n, int64_t k, const float* probs, const int32_t* labels,
                                        float label_smoothing, float grad_scale, float* dlogits) {
  check_inputs(n, k, labels, label_smoothing, "softmax_cross_entropy_backward_cpu");
  const float scale = grad_scale / static_cast<float>(n);
  const float off_target = label_smoothing / static_cast<float>(k);  // target of every class
  const float on_target = 1.0f - label_smoothing;                     // extra target of the label
#pragma omp parallel for schedule(static) if (n * k >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) {
    const float* p = probs + i * k;
    float* d = dlogits + i * k;
    for (int64_t j = 0; j < k; ++j) d[j] = scale * (p[j] - off_target);
    d[labels[i]] -= scale * on_target;
  }
}

int64_t count_correct_cpu(int64_t n, int64_t k, const float* logits, const int32_t* labels) {
  int64_t correct = 0;
#pragma omp parallel for schedule(static) reduction(+ : correct) if (n * k >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) {
    const float* z = logits + i * k;
    const int64_t predicted = std::max_element(z, z + k) - z;  // first maximum on ties
    correct += predicted == labels[i] ? 1 : 0;
  }
  return correct;
}

}  // namespace frugal
