// Softmax cross-entropy against an independent float64 reference; the gradient against central
// finite differences of that reference.
#include "ops/cpu/loss_cpu.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "tests/ops/reference_util.h"

namespace frugal {
namespace {

using test::max_relative_error;  // max |got - want| / max |want|; NaN fails

struct CeCase {
  int64_t n, k;
  std::vector<float> logits;
  std::vector<int32_t> labels;
  CeCase(int64_t rows, int64_t classes, uint64_t step, float spread = 2.0f) : n(rows), k(classes) {
    logits.resize(n * k);
    rng_normal(rng_key(51, RngStream::Test, step), logits.data(), logits.size(), 0.5f, spread);
    RngSequence seq(rng_key(52, RngStream::Test, step));
    for (int64_t i = 0; i < n; ++i) labels.push_back(static_cast<int32_t>(seq.next_below(k)));
  }
};

// Odd batch and class counts, including a single class and a single sample.
const std::pair<int64_t, int64_t> kShapes[] = {{3, 5}, {7, 10}, {1, 4}, {16, 3}, {2, 1}};

// Mean over rows of -sum_j target_j * log softmax(z)_j with target = (1-eps)*onehot + eps/K.
double ce_reference(int64_t n, int64_t k, const std::vector<double>& z, const std::vector<int32_t>& labels,
                    double eps, std::vector<double>* probs = nullptr) {
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double* row = z.data() + i * k;
    const double mx = *std::max_element(row, row + k);
    double sum = 0.0;
    for (int64_t j = 0; j < k; ++j) sum += std::exp(row[j] - mx);
    for (int64_t j = 0; j < k; ++j) {
      const double log_p = row[j] - mx - std::log(sum);
      const double target = (j == labels[i] ? 1.0 - eps : 0.0) + eps / k;
      total -= target * log_p;
      if (probs) probs->push_back(std::exp(log_p));
    }
  }
  return total / n;
}

TEST(LossCpu, ForwardMatchesFloat64ReferenceWithAndWithoutSmoothing) {
  for (auto [n, k] : kShapes) {
    for (float eps : {0.0f, 0.1f}) {
      CeCase c(n, k, n * 100 + k);
      std::vector<float> probs(n * k);
      const float loss = softmax_cross_entropy_forward_cpu(n, k, c.logits.data(), c.labels.data(), eps,
                                                           probs.data());
      std::vector<double> want_probs;
      const double want = ce_reference(n, k, {c.logits.begin(), c.logits.end()}, c.labels, eps, &want_probs);
      if (k == 1) {
        EXPECT_NEAR(loss, 0.0f, 1e-6);  // one class: the prediction is certain
      } else {
        EXPECT_NEAR(loss, want, 1e-5 * std::abs(want)) << "n=" << n << " k=" << k << " eps=" << eps;
      }
      EXPECT_LT(max_relative_error(probs, want_probs), 1e-5) << "n=" << n << " k=" << k;
    }
  }
}

TEST(LossCpu, LargeLogitsStayFinite) {
  const std::vector<float> logits = {1000.0f, -1000.0f, 0.0f, -1000.0f, 1000.0f, 999.0f};
  const std::vector<int32_t> labels = {1, 2};
  std::vector<float> probs(6);
  const float loss =
      softmax_cross_entropy_forward_cpu(2, 3, logits.data(), labels.data(), 0.0f, probs.data());
  // Row 0: -log p_1 = 2000; row 1: -log p_2 = 1 + log(1 + e^-1).
  EXPECT_NEAR(loss, (2000.0 + 1.0 + std::log1p(std::exp(-1.0))) / 2.0, 1e-3);
  for (float p : probs) EXPECT_TRUE(std::isfinite(p));
}

TEST(LossCpu, BackwardMatchesFiniteDifferencesWithAndWithoutSmoothing) {
  for (auto [n, k] : kShapes) {
    for (float eps : {0.0f, 0.1f}) {
      for (float grad_scale : {1.0f, 2.5f}) {
        CeCase c(n, k, n * 100 + k + 7);
        std::vector<float> probs(n * k), dlogits(n * k);
        softmax_cross_entropy_forward_cpu(n, k, c.logits.data(), c.labels.data(), eps, probs.data());
        softmax_cross_entropy_backward_cpu(n, k, probs.data(), c.labels.data(), eps, grad_scale,
                                           dlogits.data());
        std::vector<double> z(c.logits.begin(), c.logits.end()), numeric(n * k);
        const double h = 1e-6;
        for (int64_t i = 0; i < n * k; ++i) {
          const double keep = z[i];
          z[i] = keep + h;
          const double up = ce_reference(n, k, z, c.labels, eps);
          z[i] = keep - h;
          numeric[i] = grad_scale * (up - ce_reference(n, k, z, c.labels, eps)) / (2.0 * h);
          z[i] = keep;
        }
        if (k == 1) {
          for (float d : dlogits) EXPECT_NEAR(d, 0.0f, 1e-7f);  // one class: nothing to learn
        } else {
          EXPECT_LT(max_relative_error(dlogits, numeric), 1e-4) << "n=" << n << " k=" << k << " eps=" << eps;
        }
      }
    }
  }
}

TEST(LossCpu, BackwardMayWriteOverProbs) {
  CeCase c(4, 6, 9);
  std::vector<float> probs(24), dlogits(24);
  softmax_cross_entropy_forward_cpu(4, 6, c.logits.data(), c.labels.data(), 0.1f, probs.data());
  softmax_cross_entropy_backward_cpu(4, 6, probs.data(), c.labels.data(), 0.1f, 1.0f, dlogits.data());
  softmax_cross_entropy_backward_cpu(4, 6, probs.data(), c.labels.data(), 0.1f, 1.0f, probs.data());
  EXPECT_EQ(probs, dlogits);
}

// Expects a DataError whose message names the sample and the bad label.
void expect_label_rejected(int32_t bad_label) {
  CeCase c(4, 10, 11);
  c.labels[2] = bad_label;
  std::vector<float> probs(40);
  try {
    softmax_cross_entropy_forward_cpu(4, 10, c.logits.data(), c.labels.data(), 0.0f, probs.data());
    ADD_FAILURE() << "expected DataError for label " << bad_label;
  } catch (const DataError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("label " + std::to_string(bad_label)), std::string::npos) << msg;
    EXPECT_NE(msg.find("sample 2"), std::string::npos) << msg;
  }
}

TEST(LossCpu, LabelOutOfRangeThrowsDataErrorNamingSampleAndLabel) {
  expect_label_rejected(12);
  expect_label_rejected(10);
  expect_label_rejected(-1);
}

TEST(LossCpu, SmoothingOutsideUnitIntervalThrowsConfigError) {
  CeCase c(2, 3, 12);
  std::vector<float> probs(6);
  EXPECT_THROW(softmax_cross_entropy_forward_cpu(2, 3, c.logits.data(), c.labels.data(), 1.5f, probs.data()),
               ConfigError);
}

TEST(LossCpu, CountCorrectComparesArgmaxWithLabel) {
  const std::vector<float> logits = {0.1f, 0.9f, 0.0f,   // argmax 1
                                     2.0f, 2.0f, 1.0f,   // tie: first maximum, 0
                                     -3.0f, -2.0f, -1.0f};  // argmax 2
  EXPECT_EQ(count_correct_cpu(3, 3, logits.data(), std::vector<int32_t>{1, 0, 2}.data()), 3);
  EXPECT_EQ(count_correct_cpu(3, 3, logits.data(), std::vector<int32_t>{1, 1, 0}.data()), 1);
  EXPECT_EQ(count_correct_cpu(3, 3, logits.data(), std::vector<int32_t>{0, 2, 1}.data()), 0);
}

TEST(LossCpu, OutputsAreBitIdenticalAcrossThreadCounts) {
  CeCase c(512, 100, 13, 4.0f);  // above the OpenMP threshold
  auto run = [&](int threads) {
    const int before = omp_get_max_threads();
    omp_set_num_threads(threads);
    std::vector<float> probs(c.n * c.k), dlogits(c.n * c.k);
    const float loss =
        softmax_cross_entropy_forward_cpu(c.n, c.k, c.logits.data(), c.labels.data(), 0.1f, probs.data());
    softmax_cross_entropy_backward_cpu(c.n, c.k, probs.data(), c.labels.data(), 0.1f, 1.0f, dlogits.data());
    const int64_t correct = count_correct_cpu(c.n, c.k, c.logits.data(), c.labels.data());
    omp_set_num_threads(before);
    probs.insert(probs.end(), dlogits.begin(), dlogits.end());
    probs.push_back(loss);
    probs.push_back(static_cast<float>(correct));
    return probs;
  };
  const std::vector<float> once = run(1);
  EXPECT_EQ(once, run(2));
  EXPECT_EQ(once, run(2));
}

}  // namespace
}  // namespace frugal
