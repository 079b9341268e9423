// The baseline planner: one system allocation per buffer at acquire, freed at release. Its peak is the
// lower bound of the step (no fragmentation), paid for with a heap allocation per buffer per step.
#pragma once
#include <vector>

#include "memory/live_buffers.h"
#include "memory/planner.h"

namespace frugal {

class NaivePlanner : public Planner {
 public:
  explicit NaivePlanner(Allocator* device = nullptr) : live_("naive", device) {}
  ~NaivePlanner() override;
  NaivePlanner(const NaivePlanner&) = delete;
  NaivePlanner& operator=(const NaivePlanner&) = delete;

  const char* name() const override { return "naive"; }
  PlanSummary plan(const StepDescription& step) override;
  void* acquire(int32_t id) override;
  void release(int32_t id) override;
  size_t predicted_peak_bytes() const override { return predicted_; }
  size_t measured_peak_bytes() const override { return peak_bytes_; }
  size_t held_bytes() const override { return held_bytes_; }
  uint64_t system_allocations() const override { return allocations_; }

 private:
  LiveBuffers live_;
  std::vector<void*> pointers_;  // by id; null when not live
  size_t held_bytes_ = 0, peak_bytes_ = 0;
  uint64_t allocations_ = 0;
  size_t predicted_ = 0;
};

}  // namespace frugal
