#include "training/memory_accounting.h"

#include <algorithm>
#include <set>

#include "memory/budget.h"
#include "memory/profiler.h"
#include "training/process_memory.h"
#include "training/distributed/data_parallel.h"

namespace frugal {
namespace {

void add_persistent(StepDescription& step, const std::string& owner, const std::string& layer, size_t bytes,
                    MemoryCategory category, size_t& total) {
  if (bytes == 0) return;
  auto id = static_cast<int32_t>(step.buffers.size());
  step.buffers.push_back({id, bytes, category, 0, step.num_times() - 1, owner, layer});
  total += aligned_bytes(bytes);
}

}  // namespace

int64_t trainable_parameter_count(Graph& graph) {
  int64_t n = 0;
  for (Parameter* p : graph.trainable_parameters()) n += p->value.numel();
  return n;
}

StepDescription full_step_description(Experiment& e, const StepDescription& plan_step, size_t* persistent_bytes) {
  StepDescription step = plan_step;
  size_t total = 0;
  Graph& g = *e.graph;
  // Data parallel: the gradients live in the layout's buffers (one flat buffer, or ZeRO-2's slots and
  // shard, whose views alias), not one buffer per parameter.
  const FlatParameters* flat = e.data_parallel ? &e.data_parallel->flat() : nullptr;
  if (flat)
    for (const auto& [name, bytes] : flat->gradient_buffers())
      add_persistent(step, name, "", bytes, MemoryCategory::Gradients, total);
  size_t weight_bytes = 0;
  for (int i = 0; i < g.size(); ++i) {
    const std::string& layer = g.layer(i).name();
    for (Parameter* p : g.layer(i).parameters()) {
      add_persistent(step, p->name, layer, p->value.nbytes(), MemoryCategory::Weights, total);
      if (p->trainable) weight_bytes += p->value.nbytes();
      if (p->grad.defined() && !flat)
        add_persistent(step, p->name + ".grad", layer, p->grad.nbytes(), MemoryCategory::Gradients, total);
    }
    for (Parameter* p : e.executor->mode(i).state())
      add_persistent(step, p->name, layer, p->value.nbytes(), MemoryCategory::OptimizerState, total);
  }
  if (flat && flat->weights().nbytes() > weight_bytes)  // alignment and chunk padding of the flat layout
    add_persistent(step, "data-parallel padding", "", flat->weights().nbytes() - weight_bytes, MemoryCategory::Weights,
                   total);
  if (e.optimizer)
    for (const auto& [name, t] : e.optimizer->state())
      add_persistent(step, name, "", t.nbytes(), MemoryCategory::OptimizerState, total);
  if (persistent_bytes) *persistent_bytes = total;
  return step;
}

void check_training_budget(Experiment& e, int64_t batch) {
  if (e.config.at("memory").at("budget_mb").get<double>() <= 0) return;
  check_process_budget(e, predict_process_memory(e, batch));
}

std::string describe_training_peak(Experiment& e, int64_t batch) {
  return describe_step_peak(full_step_description(e, e.step_schedule->plan(batch), nullptr));
}

void attach_process_memory(MemoryReport& report, Experiment& e, const ProcessMemory& predicted, bool measured) {
  report.process = process_memory_section(e, predicted, measured);
  report.peak_rss_bytes = peak_rss_bytes();
}

size_t persistent_device_bytes(Experiment& e, Device device) {
  size_t total = 0;
  auto add = [&](const Tensor& t) {
    if (t.defined() && t.device() == device) total += aligned_bytes(t.nbytes());
  };
  Graph& g = *e.graph;
  // Data parallel: weights and gradients are views of the layout's buffers (ZeRO-2's gradient views alias).
  const FlatParameters* flat = e.data_parallel ? &e.data_parallel->flat() : nullptr;
  if (flat && g.device() == device) {
    add(flat->weights());
    for (const auto& [name, bytes] : flat->gradient_buffers()) total += aligned_bytes(bytes);
  }
  for (int i = 0; i < g.size(); ++i) {
    for (Parameter* p : g.layer(i).parameters()) {
      if (flat && p->trainable) continue;
      add(p->value);
      add(p->grad);
    }
    for (Parameter* p : e.executor->mode(i).state()) add(p->value);
  }
  if (e.optimizer)
    for (const auto& [name, t] : e.optimizer->state()) add(t);
  return total;
}

MemoryReport training_memory_report(Experiment& e, int64_t batch, nlohmann::json extra, size_t staging_bytes) {
  extra["parameters"] = trainable_parameter_count(*e.graph);
  DataParallel* dp = e.data_parallel.get();
  if (dp) {
    const DistributedOptions& o = dp->options();
    extra["ranks"] = dp->size();
    extra["bytes"] = "per rank (rank " + std::to_string(dp->rank()) + ")";
    extra["sharding"] = o.shard_gradients ? "optimizer state + gradients (ZeRO-2)"
                        : o.shard_optimizer_state ? "optimizer state (ZeRO-1)"
                                                  : "none";
  }
  MemoryReport report = e.step_schedule->memory_report(e, batch, std::move(extra));
  const Device device = e.graph->device();
  if (device != Device::CPU) {
    DeviceRuntime& rt = device_runtime(device);
    rt.sample_memory();
    report.device.present = true;
    report.device.device = device_name(device);
    report.device.planned_bytes =
        e.step_schedule->planner().predicted_peak_bytes() + persistent_device_bytes(e, device) + staging_bytes;
    report.device.stats = rt.memory_stats();
  }
  if (dp) {
    // Every rank's peak and its breakdown by category, so the per-rank saving of sharding is visible.
    std::vector<double> mine = {static_cast<double>(report.peak_bytes), static_cast<double>(report.peak_rss_bytes)};
    for (size_t c : report.by_category_at_peak) mine.push_back(static_cast<double>(c));
    std::vector<double> all(mine.size() * static_cast<size_t>(dp->size()));
    dp->comm().all_gather(mine.data(), all.data(), mine.size() * sizeof(double), "memory report");
    nlohmann::json per_rank = nlohmann::json::array();
    for (int r = 0; r < dp->size(); ++r) {
      const double* v = &all[mine.size() * static_cast<size_t>(r)];
      nlohmann::json categories = nlohmann::json::object();
      for (int c = 0; c < kNumMemoryCategories; ++c)
        categories[memory_category_name(static_cast<MemoryCategory>(c))] = static_cast<size_t>(v[2 + c]);
      per_rank.push_back({{"rank", r}, {"peak_bytes", static_cast<size_t>(v[0])},
                          {"peak_rss_bytes", static_cast<size_t>(v[1])}, {"by_category", categories}});
    }
    report.extra["per_rank"] = per_rank;
  }
  return report;
}

MemoryReport executor_memory_report(Experiment& e, Executor& executor, int64_t batch, nlohmann::json extra) {
  const StepPlan& plan = executor.training_plan(batch);
  const Planner& planner = executor.training_planner();
  size_t persistent = 0;
  StepDescription full = full_step_description(e, plan.step, &persistent);

  Graph& g = *e.graph;
  std::vector<LayerMemoryRow> rows;
  std::set<int32_t> attributed;  // a kept value counts once, for the first layer that keeps it
  const auto& bufs = plan.step.buffers;
  auto bytes_of = [&](int32_t id) { return id == kNoBuffer ? size_t{0} : bufs[id].bytes; };
  auto attribute = [&](int32_t id) {
    if (id == kNoBuffer || !attributed.insert(id).second) return size_t{0};
    return bufs[id].bytes;
  };
  for (int i = 0; i < g.size(); ++i) {
    Layer& layer = g.layer(i);
    const NodeBuffers& nb = plan.nodes[i];
    LayerMemoryRow row;
    row.name = layer.name();
    row.kind = layer.kind();
    row.mode = executor.mode(i).describe();
    row.activation_bytes = bytes_of(nb.output);
    const auto& ins = g.node(i).inputs;
    for (size_t k = 0; k < ins.size(); ++k)
      if (nb.keeps.inputs[k]) row.stash_bytes += attribute(ins[k] == Graph::kInput ? plan.input : plan.nodes[ins[k]].output);
    if (nb.keeps.output) row.stash_bytes += attribute(nb.output);
    if (!nb.keeps.aux.empty())
      for (int32_t id : nb.aux) row.stash_bytes += bytes_of(id);
    for (int32_t id : nb.stash) row.stash_bytes += bytes_of(id);
    for (Parameter* p : layer.parameters()) row.param_bytes += p->value.nbytes() + (p->grad.defined() ? p->grad.nbytes() : 0);
    row.workspace_bytes = std::max(bytes_of(nb.forward_workspace), bytes_of(nb.backward_workspace));
    rows.push_back(row);
  }
  size_t stash_total = 0;
  for (const auto& r : rows) stash_total += r.stash_bytes;

  extra["batch_size"] = batch;
  // The step's buffers are those of one pass of batch / micro_batches samples (train.micro_batches).
  extra["micro_batches"] = executor.micro_batches();
  extra["persistent_bytes"] = persistent;
  extra["step_arena_bytes"] = planner.predicted_peak_bytes();
  extra["step_lower_bound_bytes"] = lower_bound_bytes(plan.step);
  extra["total_stash_bytes"] = stash_total;
  // What the executor really did in its last step, with the persistent buffers live throughout.
  MemoryProfiler measured(full);
  const auto& recorded = executor.training_profile().events();
  for (const MemoryEvent& ev : recorded)
    ev.is_alloc ? measured.record_acquire(ev.buffer_id, ev.time) : measured.record_release(ev.buffer_id, ev.time);
  for (size_t id = plan.step.buffers.size(); id < full.buffers.size(); ++id) {
    measured.record_acquire(static_cast<int32_t>(id), 0);
    measured.record_release(static_cast<int32_t>(id), full.num_times() - 1);
  }
  extra["lifetime_mismatches"] = recorded.empty() ? nlohmann::json(nullptr)
                                                  : nlohmann::json(measured.lifetime_mismatches().size());
  MemoryReport report = recorded.empty() ? build_memory_report(full, planner, std::move(rows), extra)
                                         : build_memory_report(full, planner, measured, std::move(rows), extra);
  report.peak_bytes += persistent;
  report.measured_peak_bytes += persistent;
  report.peak_rss_bytes = peak_rss_bytes();
  return report;
}

}  // namespace frugal
