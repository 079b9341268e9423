// A whole-network gradient check: the largest entry of a parameter's gradient after one training step,
// against the central difference of the loss. For networks without BatchNorm or dropout, whose
// evaluation loss is their training loss.
#pragma once
#include <gtest/gtest.h>

#include <cmath>

#include "tests/training/executor_test_util.h"
#include "training/executor.h"

namespace frugal::test {

inline void expect_largest_gradient_entry_matches_finite_differences(Executor& ex, Parameter& w, const Batch& b) {
  int64_t at = 0;  // the gradient's largest entry
  for (int64_t i = 1; i < w.grad.numel(); ++i)
    if (std::abs(w.grad.f32()[i]) > std::abs(w.grad.f32()[at])) at = i;
  const float analytic = w.grad.f32()[at];
  const float keep = w.value.f32()[at], h = 1e-2f;
  w.value.f32()[at] = keep + h;
  const float up = ex.evaluate(b.images, b.labels).loss;
  w.value.f32()[at] = keep - h;
  const float down = ex.evaluate(b.images, b.labels).loss;
  w.value.f32()[at] = keep;
  ASSERT_GT(std::abs(analytic), 1e-3f) << w.name << ": a gradient worth comparing";
  EXPECT_NEAR(analytic, (up - down) / (2 * h), 1e-3f + 1e-2f * std::abs(analytic)) << w.name;
}

}  // namespace frugal::test
