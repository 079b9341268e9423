#include "memory/planner.h"

#include <algorithm>

#include "core/error.h"
#include "memory/naive_planner.h"
#include "memory/pool_planner.h"
#include "memory/static_planner.h"

namespace frugal {

const std::vector<std::string>& planner_names() {
  static const std::vector<std::string> names = {"naive", "pool", "static"};
  return names;
}

std::unique_ptr<Planner> make_planner(const std::string& name, Allocator* device) {
  if (name == "naive") return std::make_unique<NaivePlanner>(device);
  if (name == "pool") return std::make_unique<PoolPlanner>(device);
  if (name == "static") return std::make_unique<StaticPlanner>(device);
  std::string valid;
  for (const std::string& n : planner_names()) valid += (valid.empty() ? "" : ", ") + n;
  throw ConfigError("memory.planner: unknown planner '" + name + "'; expected one of: " + valid);
}

size_t replay_step(Planner& planner, const StepDescription& step) {
  size_t most = planner.held_bytes();
  for (const MemoryEvent& e : step_events(step)) {
    if (e.is_alloc)
      planner.acquire(e.buffer_id);
    else
      planner.release(e.buffer_id);
    most = std::max(most, planner.held_bytes());
  }
  return most;
}

}  // namespace frugal
