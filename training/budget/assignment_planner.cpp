#include "training/budget/assignment_planner.h"

#include <algorithm>

#include "training/budget/quiet_log.h"
#include "memory/arena_plan.h"
#include "training/modes/registry.h"

namespace frugal {
namespace {

std::string key_of(const Assignment& a) {
  return std::string(reinterpret_cast<const char*>(a.data()), a.size() * sizeof(int));
}

}  // namespace

AssignmentPlanner::AssignmentPlanner(Graph& graph, const CandidateSet& candidates, int64_t batch,
                                     int64_t num_classes, uint64_t seed, bool accumulate_grads)
    : graph_(graph),
      candidates_(candidates),
      batch_(batch),
      num_classes_(num_classes),
      seed_(seed),
      accumulate_grads_(accumulate_grads) {
  Shape in = graph.input_shape();
  in[0] = batch;
  graph.setup(in);
  for (int i = 0; i < graph.size(); ++i) node_of_[graph.layer(i).name()] = i;
}

std::vector<int> AssignmentPlanner::nodes_above(const Assignment& a, size_t target) {
  const StepPlan p = plan(a);
  const std::vector<CategoryBytes> live = live_bytes_by_category(p.step);
  std::vector<char> hot(graph_.size(), 0);
  for (const BufferSpec& b : p.step.buffers) {
    auto it = node_of_.find(b.layer);
    if (it == node_of_.end() || hot[it->second]) continue;
    for (int32_t t = b.first_use; t <= b.last_use; ++t)
      if (total_bytes(live[t]) > target) {
        hot[it->second] = 1;
        break;
      }
  }
  std::vector<char> near = hot;
  for (int i = 0; i < graph_.size(); ++i) {
    if (!hot[i]) continue;
    for (int v : graph_.node(i).inputs)
      if (v != Graph::kInput) near[v] = 1;
    for (int c : graph_.consumers(i)) near[c] = 1;
  }
  std::vector<int> out;
  for (int i = 0; i < graph_.size(); ++i)
    if (near[i]) out.push_back(i);
  return out;
}

std::vector<BackwardMode*> AssignmentPlanner::linked_modes(const Assignment& a) {
  std::vector<BackwardMode*> raw(graph_.size());
  for (int i = 0; i < graph_.size(); ++i) {
    auto& slot = modes_[{i, a[i]}];
    if (!slot) {
      nlohmann::json entry = candidates_.chosen(a, i).entry;
      entry["match"] = graph_.layer(i).name();
      slot = make_backward_mode(entry, graph_.layer(i), i, seed_);
      ++stats_.modes_made;
    }
    raw[i] = slot.get();
  }
  QuietLog quiet;
  for (int i = 0; i < graph_.size(); ++i) raw[i]->link(graph_, i, raw);
  return raw;
}

StepPlan AssignmentPlanner::plan(const Assignment& a) {
  ++stats_.plans_built;
  if (graph_.input_shape()[0] != batch_) {  // a gradient probe ran the graph at another batch
    Shape in = graph_.input_shape();
    in[0] = batch_;
    graph_.setup(in);
  }
  return build_step_plan(graph_, linked_modes(a), batch_, num_classes_, true, true, accumulate_grads_);
}

const PlannedAssignment& AssignmentPlanner::evaluate(const Assignment& a, bool arena) {
  ++stats_.lookups;
  PlannedAssignment& known = known_[key_of(a)];
  if (known.live_peak > 0 && (!arena || known.arena > 0)) return known;
  const StepPlan p = plan(a);
  if (known.live_peak == 0) {
    const std::vector<CategoryBytes> live = live_bytes_by_category(p.step);
    known.peak_time = peak_time(live);
    known.live_peak = live.empty() ? 0 : total_bytes(live[known.peak_time]);
    for (const CategoryBytes& at : live) known.live.push_back(total_bytes(at));
    const SchedulePoint& at = p.step.schedule[known.peak_time];
    known.peak_label = at.label + " (" + at.phase + ")";
    std::vector<const BufferSpec*> live_then;
    for (const BufferSpec& b : p.step.buffers)
      if (b.first_use <= known.peak_time && known.peak_time <= b.last_use) live_then.push_back(&b);
    std::stable_sort(live_then.begin(), live_then.end(),
                     [](const BufferSpec* x, const BufferSpec* y) { return x->bytes > y->bytes; });
    for (size_t k = 0; k < live_then.size() && k < 4; ++k)
      known.largest_at_peak.emplace_back(live_then[k]->owner, live_then[k]->bytes);
    known.reruns.assign(graph_.size(), 0);
    for (const RecomputePass& pass : p.recompute)
      for (const RecomputedNode& rn : pass.nodes) ++known.reruns[rn.node];
    for (int i = 0; i < graph_.size(); ++i)
      for (Parameter* s : modes_[{i, a[i]}]->state()) known.mode_state += s->value.nbytes();
  }
  if (arena && known.arena == 0) {
    ++stats_.arenas_placed;
    known.arena = plan_arena_best(p.step).arena_bytes;
  }
  return known;
}

}  // namespace frugal
