// Plans the training step of one graph for many mode assignments, as the budget search needs
// (docs/memory_budget.md, "How the choice is made"). What does not change between assignments is made
// once: the graph stays set up for the batch, each (layer, candidate) mode instance is made the first
// time it is asked for and re-linked afterwards, and every assignment's figures are kept, so asking
// again costs a lookup. A new assignment costs one step plan (build_step_plan) and, when its arena is asked for,
// one placement (plan_arena_best).
#pragma once
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "training/budget/candidates.h"
#include "training/step_plan.h"

namespace frugal {

struct PlannedAssignment {
  size_t live_peak = 0;   // most bytes live at once (lower_bound_bytes of the step)
  std::vector<size_t> live;  // bytes live at each point of the schedule
  size_t arena = 0;       // the static planner's arena; 0 until asked for
  size_t mode_state = 0;  // bytes of mode state (BackwardMode::state), persistent across steps
  int32_t peak_time = 0;
  std::string peak_label;  // "layer1.0.conv1 (backward)"
  std::vector<std::pair<std::string, size_t>> largest_at_peak;  // owner, bytes: up to 4
  std::vector<int> reruns;  // per node: how many times its forward re-runs (recompute)
};

class AssignmentPlanner {
 public:
  // `graph` is set up for `batch` here (and again before a plan where something else set it up for
  // another batch). `accumulate_grads`: the step is one of several micro-batches (build_step_plan).
  AssignmentPlanner(Graph& graph, const CandidateSet& candidates, int64_t batch, int64_t num_classes, uint64_t seed,
                    bool accumulate_grads = false);

  // Figures of the step under `a` (valid per CandidateSet::valid). With `arena`, also the placement.
  const PlannedAssignment& evaluate(const Assignment& a, bool arena = false);
  // The full step plan of `a` (not kept).
  StepPlan plan(const Assignment& a);
  // Nodes whose buffers are live where the step under `a` holds more than `target` bytes, with their
  // producers and consumers: the layers whose modes can lower those bytes.
  std::vector<int> nodes_above(const Assignment& a, size_t target);

  struct Stats {
    uint64_t plans_built = 0, arenas_placed = 0, lookups = 0, modes_made = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  std::vector<BackwardMode*> linked_modes(const Assignment& a);

  Graph& graph_;
  const CandidateSet& candidates_;
  int64_t batch_, num_classes_;
  uint64_t seed_;
  bool accumulate_grads_;
  std::map<std::pair<int, int>, std::unique_ptr<BackwardMode>> modes_;  // (node, candidate) -> instance
  std::unordered_map<std::string, int> node_of_;                         // layer name -> node
  std::unordered_map<std::string, PlannedAssignment> known_;
  Stats stats_;
};

}  // namespace frugal
