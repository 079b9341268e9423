#include "training/schedules/mem_dfa_report.h"

#include <algorithm>

#include "memory/profiler.h"
#include "training/memory_accounting.h"

namespace frugal {

MemoryReport mem_dfa_memory_report(Experiment& e, MemDfaRunner& runner, int64_t batch, nlohmann::json extra) {
  const MemDfaPlan& plan = runner.plan(batch);
  size_t persistent = 0;
  StepDescription full = full_step_description(e, plan.step, &persistent);

  Graph& g = *e.graph;
  const auto& bufs = plan.step.buffers;
  auto bytes_of = [&](int32_t id) { return id == kNoBuffer ? size_t{0} : bufs[id].bytes; };
  auto stash_of = [&](int32_t id) {
    return id != kNoBuffer && bufs[id].category == MemoryCategory::Stash ? bufs[id].bytes : size_t{0};
  };
  std::vector<LayerMemoryRow> rows;
  size_t stash_total = bytes_of(plan.error);
  for (int i = 0; i < g.size(); ++i) {
    const MemDfaNodeBuffers& nb = plan.nodes[i];
    LayerMemoryRow row;
    row.name = g.layer(i).name();
    row.kind = g.layer(i).kind();
    row.mode = e.executor->mode(i).describe();
    row.activation_bytes = bytes_of(nb.output1);
    row.stash_bytes = stash_of(nb.output2);
    for (int32_t id : nb.aux2) row.stash_bytes += stash_of(id);
    for (Parameter* p : g.layer(i).parameters())
      row.param_bytes += p->value.nbytes() + (p->grad.defined() ? p->grad.nbytes() : 0);
    row.workspace_bytes = std::max({bytes_of(nb.forward_workspace1), bytes_of(nb.forward_workspace2),
                                    bytes_of(nb.backward_workspace)});
    stash_total += row.stash_bytes;
    rows.push_back(row);
  }
  extra["schedule"] = "mem_dfa";
  extra["batch_size"] = batch;
  extra["persistent_bytes"] = persistent;
  extra["step_arena_bytes"] = runner.planner().predicted_peak_bytes();
  extra["step_lower_bound_bytes"] = lower_bound_bytes(plan.step);
  extra["total_stash_bytes"] = stash_total;
  MemoryReport report = build_memory_report(full, runner.planner(), std::move(rows), extra);
  report.peak_bytes += persistent;
  report.measured_peak_bytes += persistent;
  report.peak_rss_bytes = peak_rss_bytes();
  return report;
}

}  // namespace frugal
