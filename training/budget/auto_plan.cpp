#include "training/budget/auto_plan.h"

#include <chrono>
#include <cmath>
#include <ctime>
#include <memory>
#include <tuple>

#include "core/config/config.h"
#include "core/config/config_hash.h"
#include "core/error.h"
#include "core/log.h"
#include "memory/format.h"
#include "training/budget/assignment_planner.h"
#include "training/budget/candidates.h"
#include "training/budget/measurements.h"
#include "training/budget/mode_spec.h"
#include "training/budget/search.h"
#include "training/config/frugal_schema.h"
#include "training/memory_accounting.h"
#include "training/process_memory.h"
#include "training/modes/registry.h"
#include "training/trainer.h"

namespace frugal {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
// CPU time of the whole process: on a machine shared with other work, wall time says more about the
// others than about the planner.
double cpu_now() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

// The first `n` training batches, normalised, not augmented.
std::vector<Batch> measurement_batches(Experiment& e, int n) {
  LoaderOptions lo = train_loader_options(e.config);
  lo.crop_padding = 0;
  lo.horizontal_flip = false;
  lo.prefetch = 0;
  Loader loader(*e.train_data, lo);
  loader.start_epoch(0);
  std::vector<Batch> out;
  for (Batch b; static_cast<int>(out.size()) < n && loader.next(b);)
    out.push_back({b.images.clone(), b.labels.clone(), b.size});
  return out;
}

// What the measurements depend on: model, data, seed, threads, candidates, batches.
std::string measurement_key(const nlohmann::json& config, const AutoOptions& o) {
  nlohmann::json k = {{"model", config.at("model")},
                      {"data", config.at("data")},
                      {"seed", config.at("seed")},
                      {"threads", config.at("threads")},
                      {"device", config.at("device")},
                      {"candidates", o.candidates},
                      {"error_batches", o.error_batches}};
  return config_hash(k);
}

// Fixed layers: backward.layers entries, which must be among the candidates.
std::vector<bool> fixed_layers(Experiment& e, const CandidateSet& c, Assignment& start) {
  Graph& g = *e.graph;
  std::vector<bool> fixed(g.size(), false);
  const nlohmann::json& layers = e.config.at("backward").at("layers");
  for (size_t k = 0; k < layers.size(); ++k) {
    nlohmann::json entry = layers[k];
    const std::string pattern = entry.at("match").get<std::string>();
    entry.erase("match");
    for (int i = 0; i < g.size(); ++i) {
      if (!glob_match(pattern, g.layer(i).name())) continue;
      const std::string spec = mode_spec_of(entry);
      const int idx = c.find(i, spec);
      FRUGAL_CHECK(idx >= 0, ConfigError,
                   "backward.layers[" + std::to_string(k) + "]: with backward.auto, a fixed entry must be one of the "
                   "candidate modes for its layer, but '" + spec + "' is not a candidate for layer '" +
                   g.layer(i).name() + "' (see backward.auto.candidates)");
      start[i] = idx;
      fixed[i] = true;
    }
  }
  FRUGAL_CHECK(c.valid(start), ConfigError,
               "backward.layers: the fixed entries break a rule of the quantized mode (a quantized Conv2d/Linear "
               "needs its ReLU quantized with the same bits)");
  return fixed;
}

std::string mib(size_t bytes) { return format_bytes(bytes); }

}  // namespace

bool wants_auto_backward(const nlohmann::json& config) {
  if (!config.contains("backward") || !config.at("backward").contains("auto")) return false;
  const nlohmann::json& a = config.at("backward").at("auto");
  return a.is_object() || (a.is_boolean() && a.get<bool>());
}

AutoOptions auto_options(const nlohmann::json& config) {
  AutoOptions o;
  nlohmann::json a = config.at("backward").at("auto");
  if (!a.is_object()) {
    // `true`: the options' defaults, from the schema (the object alternative of backward.auto).
    const Schema& any = *frugal_config_schema().field("backward")->field("auto");
    for (const Schema& alternative : any.alternatives())
      if (alternative.kind() == SchemaKind::Object)
        a = validate_config(nlohmann::json::object(), alternative, "backward.auto");
  }
  o.candidates = a.at("candidates").get<std::vector<std::string>>();
  o.max_slowdown = a.at("max_slowdown").get<double>();
  o.error_batches = a.at("error_batches").get<int>();
  o.split_batch = a.at("split_batch").get<bool>();
  o.cache_dir = a.at("cache_dir").get<std::string>();
  if (o.candidates.empty()) o.candidates = default_candidate_specs();
  return o;
}

namespace {

// What the plans for several micro-batch counts share: the candidates, the fixed layers, and the
// measurements, taken once (at the whole batch) when the first plan needs them.
struct AutoPlanContext {
  AutoPlanContext(Experiment& exp, const AutoPlanRequest& req)
      : e(exp),
        request(req),
        o(auto_options(exp.config)),
        seed(exp.config.at("seed").get<uint64_t>()),
        batch(exp.config.at("data").at("batch_size").get<int64_t>()),
        candidates(*exp.graph, o.candidates, seed),
        start(candidates.all_exact()),
        fixed(fixed_layers(exp, candidates, start)) {
    none.nodes.resize(exp.graph->size());
    for (int i = 0; i < exp.graph->size(); ++i) none.nodes[i].assign(candidates.of(i).size(), CandidateFigures{});
    measured = none;
  }

  void measure() {
    if (probe) return;
    const auto t = Clock::now();
    const double t_cpu = cpu_now();
    probe = std::make_unique<GradientProbe>(*e.graph, candidates, e.num_classes,
                                            measurement_batches(e, o.error_batches), seed);
    const std::string dir = o.cache_dir.empty() ? request.run_dir : o.cache_dir;
    measured = measure_candidates(*probe, candidates, o.error_batches,
                                  dir.empty() ? std::string() : dir + "/auto_plan_measurements.json",
                                  measurement_key(e.config, o));
    measurements_cached = measured.from_cache;
    measuring += since(t);
    measuring_cpu += cpu_now() - t_cpu;
  }
  // The gradient error and slowdown of splitting the all-exact step into k passes: what BatchNorm's
  // per-pass statistics change, and what smaller passes cost in time (from timed probe runs).
  std::pair<double, double> micro_batch_cost(int k) {
    measure();
    const auto t = Clock::now();
    const double t_cpu = cpu_now();
    auto seconds = [](const GradientError& r) {
      double sum = r.loss_seconds;
      for (const NodeTiming& n : r.timings) sum += n.forward + n.backward + n.recompute;
      return sum;
    };
    const GradientError whole = probe->run(candidates.all_exact(), 1);
    const GradientError split = probe->run(candidates.all_exact(), k);
    measuring += since(t);
    measuring_cpu += cpu_now() - t_cpu;
    return {split.rel_l2, seconds(whole) > 0 ? seconds(split) / seconds(whole) : 1.0};
  }

  Experiment& e;
  const AutoPlanRequest& request;
  const AutoOptions o;
  const uint64_t seed;
  const int64_t batch;
  CandidateSet candidates;
  Assignment start;
  const std::vector<bool> fixed;
  Measurements none, measured;
  std::unique_ptr<GradientProbe> probe;
  bool measurements_cached = false;
  double measuring = 0, measuring_cpu = 0;
};

// The plan with every training step split into `k` passes (train.micro_batches). MemoryBudgetError
// when the budget is below the smallest step the candidates reach at k.
AutoPlan plan_at(AutoPlanContext& c, int k) {
  Experiment& e = c.e;
  const AutoPlanRequest& request = c.request;
  const AutoOptions& o = c.o;
  Graph& g = *e.graph;
  CandidateSet& candidates = c.candidates;
  const Assignment& start = c.start;
  const std::vector<bool>& fixed = c.fixed;
  const int64_t batch = c.batch;
  AutoPlan plan;
  plan.batch = batch;
  plan.micro_batches = k;

  // The rest of the process, from the experiment as built (exact modes): the budget left for the step.
  const ProcessMemory process = predict_process_memory(e, batch);
  full_step_description(e, e.step_schedule->plan(batch), &plan.persistent_bytes);
  plan.outside_step_bytes = process.outside_step();
  plan.process_budget_bytes = request.process_budget_bytes;
  plan.step_budget_bytes = request.step_budget_bytes > 0 ? request.step_budget_bytes
                           : request.process_budget_bytes > plan.outside_step_bytes
                               ? request.process_budget_bytes - plan.outside_step_bytes
                               : 0;

  AssignmentPlanner planner(g, candidates, batch / k, e.num_classes, c.seed, k > 1);
  auto step_bytes = [&](const Assignment& a) {
    const PlannedAssignment& p = planner.evaluate(a, true);
    return p.arena + p.mode_state + plan.persistent_bytes;
  };
  plan.exact_step_bytes = step_bytes(candidates.all_exact());
  const size_t arena_budget = plan.step_budget_bytes > plan.persistent_bytes ? plan.step_budget_bytes - plan.persistent_bytes : 0;

  auto refuse = [&](const SearchOutcome& least, const std::string& why) {
    const PlannedAssignment& p = planner.evaluate(least.assignment, true);
    std::string held;
    for (const auto& [owner, bytes] : p.largest_at_peak) held += (held.empty() ? "" : ", ") + ("'" + owner + "' " + mib(bytes));
    std::string budget = request.step_budget_bytes > 0
                             ? "the training step budget " + mib(plan.step_budget_bytes)
                             : "memory.budget_mb " + mib(request.process_budget_bytes) + " (" +
                                   mib(plan.step_budget_bytes) + " for the training step after " +
                                   mib(plan.outside_step_bytes) + " for data, libraries, loaders and the rest)";
    const std::string process = request.step_budget_bytes > 0
                                    ? ""
                                    : ", a process of " + mib(step_bytes(least.assignment) + plan.outside_step_bytes);
    const std::string passes = k > 1 ? " in " + std::to_string(k) + " passes of " + std::to_string(batch / k) +
                                           " samples (train.micro_batches)"
                                     : "";
    throw MemoryBudgetError(budget + " is below the smallest training step the candidate modes reach" + passes + why +
                            ": " + mib(step_bytes(least.assignment)) + process + " (arena " + mib(p.arena) +
                            " + weights, gradients and optimizer state " + mib(plan.persistent_bytes) + "), peaking at " +
                            p.peak_label + " with " + held + " live");
  };

  // Below what any assignment reaches, whatever its error or time: refused before measuring anything.
  Assignment known_small;  // the smallest step found before measuring, when searched
  {
    // Only when no uniform configuration fits is the (costlier) search for the smallest step worth it.
    size_t least_uniform = step_bytes(start);
    for (const std::string& spec : o.candidates) {
      const Assignment u = candidates.uniform(spec);
      if (!u.empty()) least_uniform = std::min(least_uniform, step_bytes(u));
    }
    if (least_uniform > plan.step_budget_bytes || request.find_smallest) {
      BudgetSearch blind(candidates, planner, c.none, 0, fixed);
      const SearchOutcome least = blind.smallest(start);
      plan.smallest_step_bytes = step_bytes(least.assignment);
      if (plan.smallest_step_bytes > plan.step_budget_bytes) refuse(least, "");
      known_small = least.assignment;
    }
  }

  Assignment chosen = start;
  if (step_bytes(start) > plan.step_budget_bytes) {
    c.measure();
    BudgetSearch search(candidates, planner, c.measured, o.max_slowdown, fixed);
    const SearchOutcome out = search.fit(arena_budget > 0 ? arena_budget : 0, start, &known_small);
    if (!out.fits || step_bytes(out.assignment) > plan.step_budget_bytes) {
      const SearchOutcome least = search.smallest(start);
      plan.smallest_step_bytes = step_bytes(least.assignment);
      refuse(least, " within backward.auto.max_slowdown = " + std::to_string(o.max_slowdown).substr(0, 4));
    }
    chosen = out.assignment;
  }
  if (k > 1) std::tie(plan.micro_batch_error, plan.micro_batch_slowdown) = c.micro_batch_cost(k);
  const Measurements& measured = c.probe ? c.measured : c.none;
  BudgetSearch search(candidates, planner, measured, o.max_slowdown, fixed);
  plan.exact_seconds = search.exact_seconds();

  // Uniform single-mode configurations, and the plan's own error, measured on the same batches (in k
  // passes, against the exact gradient of the whole batch).
  if (c.probe) {
    const auto t = Clock::now();
    const double t_cpu = cpu_now();
    const GradientError mine = c.probe->run(chosen, k);
    const double search_error = search.predicted_error(chosen);
    plan.measured_error = mine.rel_l2;
    plan.measured_cosine = mine.cosine;
    for (const std::string& spec : o.candidates) {
      const Assignment u = candidates.uniform(spec);
      if (u.empty()) continue;
      UniformBaseline b;
      b.spec = spec;
      b.step_bytes = step_bytes(u);
      b.fits = b.step_bytes <= plan.step_budget_bytes;
      b.predicted_error = search.predicted_error(u);
      b.predicted_seconds = search.predicted_seconds(u) * plan.micro_batch_slowdown;
      if (b.fits && request.compare_uniform) {
        const GradientError r = c.probe->run(u, k);
        b.measured_error = r.rel_l2;
        b.measured_cosine = r.cosine;
        // A uniform configuration that fits and does better on the same batches is the plan; not over a
        // search result whose modes are all exact, which a lossy mode can only beat by chance.
        if (r.rel_l2 < plan.measured_error && search_error > 0) {
          chosen = u;
          plan.measured_error = r.rel_l2;
          plan.measured_cosine = r.cosine;
          plan.chosen_by = "uniform " + spec;
        }
      }
      plan.uniform.push_back(b);
    }
    c.measuring += since(t);
    c.measuring_cpu += cpu_now() - t_cpu;
  }

  plan.fits = true;
  plan.planned_step_bytes = step_bytes(chosen);
  // The layers' errors taken as independent of each other and of the passes' (search.h).
  plan.predicted_error = std::hypot(search.predicted_error(chosen), plan.micro_batch_error);
  plan.predicted_seconds = search.predicted_seconds(chosen) * plan.micro_batch_slowdown;
  plan.backward = {{"default", {{"mode", "exact"}}}, {"layers", candidates.backward_layers(chosen)}};
  for (int i = 0; i < g.size(); ++i) {
    PlanRow r;
    r.layer = g.layer(i).name();
    r.kind = g.layer(i).kind();
    r.spec = candidates.chosen(chosen, i).spec;
    r.predicted_error = measured.nodes[i][chosen[i]].error;
    r.predicted_seconds = measured.nodes[i][chosen[i]].forward_seconds + measured.nodes[i][chosen[i]].backward_seconds +
                          planner.evaluate(chosen).reruns[i] * measured.nodes[i][0].forward_seconds;
    if (chosen[i] != 0 && !fixed[i]) {
      Assignment back = chosen;
      back[i] = 0;
      if (candidates.repair(back, i)) {
        const size_t with = step_bytes(back), without = step_bytes(chosen);
        r.bytes_saved = with > without ? with - without : 0;
      }
    }
    plan.rows.push_back(r);
  }
  plan.plans_built = planner.stats().plans_built;
  plan.plan_lookups = planner.stats().lookups;
  return plan;
}

}  // namespace

AutoPlan plan_backward_for_budget(Experiment& e, const AutoPlanRequest& request) {
  const auto start_time = Clock::now();
  const double start_cpu = cpu_now();
  FRUGAL_CHECK(e.config.at("backward").at("default").at("mode") == "exact", ConfigError,
               "backward.default: with backward.auto the default mode must be exact (the search starts from "
               "exact backpropagation; fix layers with backward.layers entries)");
  FRUGAL_CHECK(std::string(e.step_schedule->name()) == "plain", ConfigError,
               "backward.auto plans the plain training step; the " + std::string(e.step_schedule->name()) +
                   " schedule plans its own");
  FRUGAL_CHECK(request.step_budget_bytes > 0 || request.process_budget_bytes > 0, ConfigError,
               "backward.auto needs a budget: set memory.budget_mb (or frugal plan --budget-mb)");
  AutoPlanContext c(e, request);

  // train.micro_batches as configured first; where no assignment fits, the batch split into twice as
  // many passes, and so on (docs/memory_budget.md, "Micro-batches"). At the first count that fits, the
  // next one too unless the plan is already exact: fewer lossy modes may harm less than the split does.
  const int first = e.executor->micro_batches();
  std::unique_ptr<AutoPlan> best;
  std::string refusal;
  uint64_t plans = 0, lookups = 0;
  for (int k = first; k <= c.batch && c.batch % k == 0; k *= 2) {
    try {
      AutoPlan p = plan_at(c, k);
      plans += p.plans_built;
      lookups += p.plan_lookups;
      const bool better = !best || p.measured_error < best->measured_error;
      const bool had = best != nullptr;
      if (better) best = std::make_unique<AutoPlan>(std::move(p));
      if (k == first || had || best->predicted_error == best->micro_batch_error) break;
    } catch (const MemoryBudgetError& err) {
      if (best) break;
      refusal = err.what();
      if (!c.o.split_batch) throw;
      // Splitting cannot shrink what persists across passes.
      size_t persistent = 0;
      full_step_description(e, e.step_schedule->plan(c.batch), &persistent);
      const size_t step_budget = request.step_budget_bytes > 0 ? request.step_budget_bytes
                                 : request.process_budget_bytes > predict_process_memory(e, c.batch).outside_step()
                                     ? request.process_budget_bytes - predict_process_memory(e, c.batch).outside_step()
                                     : 0;
      if (persistent >= step_budget)
        throw MemoryBudgetError(
            "the training step budget " + mib(step_budget) + " is below what the weights, gradients and "
            "optimizer state alone hold: " + mib(persistent) + "; no backward modes and no split of the batch "
            "(train.micro_batches) lower that; a smaller model (or a lighter optimizer) would");
    }
  }
  if (!best) throw MemoryBudgetError(refusal + "; a smaller model would need less");
  best->plans_built = plans;
  best->plan_lookups = lookups;
  best->measurements_cached = c.measurements_cached;
  best->measuring_seconds = c.measuring;
  best->planning_seconds = since(start_time) - c.measuring;
  best->measuring_cpu_seconds = c.measuring_cpu;
  best->planning_cpu_seconds = cpu_now() - start_cpu - c.measuring_cpu;
  return *best;
}

nlohmann::json config_with_plan(const nlohmann::json& config, const AutoPlan& plan) {
  nlohmann::json out = config;
  out["backward"] = plan.backward;
  out["train"]["micro_batches"] = plan.micro_batches;
  return out;
}

}  // namespace frugal
