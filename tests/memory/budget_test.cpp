#include "memory/budget.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/memory/random_steps.h"

namespace frugal {
namespace {

TEST(MemoryBudget, PlanWithinTheBudgetPasses) {
  const StepDescription step = training_like_step(1, 6);
  EXPECT_NO_THROW(check_memory_budget(step, "static", 1000, 1000));
  EXPECT_NO_THROW(check_memory_budget(step, "static", 1 << 30, 0));  // 0: no budget
}

TEST(MemoryBudget, PlanOverTheBudgetNamesThePlannerSizesAndLargestBuffer) {
  const StepDescription step = training_like_step(1, 6);
  try {
    check_memory_budget(step, "pool", 3 << 20, 1 << 20);
    FAIL() << "expected MemoryBudgetError";
  } catch (const MemoryBudgetError& e) {
    const std::string message = e.what();
    for (const char* part : {"memory.budget_mb", "pool", "3.0 MiB", "1.0 MiB", "largest buffers", "layer0"})
      EXPECT_NE(message.find(part), std::string::npos) << part << " in: " << message;
  }
}

}  // namespace
}  // namespace frugal
