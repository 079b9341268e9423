// Offsets in one arena computed at plan() from lifetimes (arena_plan.h); one system allocation per
// plan, and acquire/release only hand out arena + offset. Predicted and measured peak are the arena.
#pragma once
#include <string>
#include <vector>

#include "memory/arena_plan.h"
#include "memory/live_buffers.h"
#include "memory/planner.h"

namespace frugal {

class StaticPlanner : public Planner {
 public:
  explicit StaticPlanner(Allocator* device = nullptr) : live_("static", device) {}
  ~StaticPlanner() override;
  StaticPlanner(const StaticPlanner&) = delete;
  StaticPlanner& operator=(const StaticPlanner&) = delete;

  const char* name() const override { return "static"; }
  PlanSummary plan(const StepDescription& step) override;
  void* acquire(int32_t id) override;
  void release(int32_t id) override;
  size_t predicted_peak_bytes() const override { return plan_.arena_bytes; }
  size_t measured_peak_bytes() const override { return arena_bytes_; }
  size_t held_bytes() const override { return arena_bytes_; }
  uint64_t system_allocations() const override { return allocations_; }
  std::vector<size_t> offsets() const override { return plan_.offsets; }

  const std::string& heuristic() const { return plan_.heuristic; }  // which arena_plan variant won

 private:
  LiveBuffers live_;
  ArenaPlan plan_;
  char* arena_ = nullptr;
  size_t arena_bytes_ = 0;  // bytes held from the system
  uint64_t allocations_ = 0;
};

}  // namespace frugal
