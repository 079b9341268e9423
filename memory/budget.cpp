#include "memory/budget.h"

#include <algorithm>
#include <string>
#include <vector>

#include "core/error.h"
#include "memory/format.h"

namespace frugal {

std::string describe_step_peak(const StepDescription& step) {
  const std::vector<CategoryBytes> live = live_bytes_by_category(step);
  if (live.empty()) return "";
  const int32_t peak = peak_time(live);
  std::string message = "at the peak (t=" + std::to_string(peak) + " '" + step.schedule[peak].label + "', " +
                        step.schedule[peak].phase + ") live:";
  for (int c = 0; c < kNumMemoryCategories; ++c)
    if (live[peak][c] > 0)
      message += std::string(" ") + memory_category_name(static_cast<MemoryCategory>(c)) + " " +
                 format_bytes(live[peak][c]) + ";";
  // The largest buffers live at the peak are what a smaller batch or a cheaper mode would shrink.
  std::vector<const BufferSpec*> at_peak;
  for (const BufferSpec& b : step.buffers)
    if (b.first_use <= peak && peak <= b.last_use) at_peak.push_back(&b);
  std::stable_sort(at_peak.begin(), at_peak.end(),
                   [](const BufferSpec* a, const BufferSpec* b) { return a->bytes > b->bytes; });
  message += " largest buffers:";
  for (size_t i = 0; i < at_peak.size() && i < 3; ++i)
    message += std::string(i ? ", " : " ") + "'" + at_peak[i]->owner + "' " + format_bytes(at_peak[i]->bytes);
  return message;
}

void check_memory_budget(const StepDescription& step, const char* planner_name, size_t planned_peak_bytes,
                         size_t budget_bytes) {
  if (budget_bytes == 0 || planned_peak_bytes <= budget_bytes) return;
  std::string message = "memory.budget_mb: the " + std::string(planner_name) + " planner needs " +
                        format_bytes(planned_peak_bytes) + " but the budget is " + format_bytes(budget_bytes);
  const std::string peak = describe_step_peak(step);
  if (!peak.empty()) message += "; " + peak;
  throw MemoryBudgetError(message);
}

}  // namespace frugal
