#include "memory/planner.h"

#include <algorithm>

#include "core/error.h"
#include "memory/naive_planner.h"
#include "memory/pool_planner.h"
#include "memory/static_planner.h"

namespace frugal {

namespace {

// The planners memory.planner may name: the schema's enumeration is read from this table.
struct NamedPlanner {
  const char* name;
  std::unique_ptr<Planner> (*make)(Allocator* device);
};
constexpr NamedPlanner kPlanners[] = {
    {"naive", [](Allocator* d) -> std::unique_ptr<Planner> { return std::make_unique<NaivePlanner>(d); }},
    {"pool", [](Allocator* d) -> std::unique_ptr<Planner> { return std::make_unique<PoolPlanner>(d); }},
    {"static", [](Allocator* d) -> std::unique_ptr<Planner> { return std::make_unique<StaticPlanner>(d); }},
};

}  // namespace

const std::vector<std::string>& planner_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const NamedPlanner& p : kPlanners) out.push_back(p.name);
    return out;
  }();
  return names;
}

std::unique_ptr<Planner> make_planner(const std::string& name, Allocator* device) {
  for (const NamedPlanner& p : kPlanners)
    if (name == p.name) return p.make(device);
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
