// The auto plan as a terminal table and as files (auto_plan.h).
#include <cstdio>
#include <filesystem>

#include "core/io/atomic_file.h"
#include "memory/format.h"
#include "training/budget/auto_plan.h"

namespace frugal {

nlohmann::json AutoPlan::json() const {
  nlohmann::json layers = nlohmann::json::array();
  for (const PlanRow& r : rows)
    layers.push_back({{"layer", r.layer},
                      {"kind", r.kind},
                      {"mode", r.spec},
                      {"bytes_saved", r.bytes_saved},
                      {"predicted_error", r.predicted_error},
                      {"predicted_seconds", r.predicted_seconds}});
  nlohmann::json uni = nlohmann::json::array();
  for (const UniformBaseline& u : uniform)
    uni.push_back({{"mode", u.spec},
                   {"step_bytes", u.step_bytes},
                   {"fits", u.fits},
                   {"predicted_error", u.predicted_error},
                   {"measured_error", u.measured_error < 0 ? nlohmann::json(nullptr) : nlohmann::json(u.measured_error)},
                   {"measured_cosine", u.measured_error < 0 ? nlohmann::json(nullptr) : nlohmann::json(u.measured_cosine)},
                   {"predicted_slowdown", exact_seconds > 0 ? u.predicted_seconds / exact_seconds : 1.0}});
  return {{"batch_size", batch},
          {"micro_batches", micro_batches},
          {"micro_batch_error", micro_batch_error},
          {"micro_batch_slowdown", micro_batch_slowdown},
          {"process_budget_bytes", process_budget_bytes},
          {"step_budget_bytes", step_budget_bytes},
          {"outside_step_bytes", outside_step_bytes},
          {"persistent_bytes", persistent_bytes},
          {"exact_step_bytes", exact_step_bytes},
          {"planned_step_bytes", planned_step_bytes},
          {"smallest_step_bytes", smallest_step_bytes},
          {"predicted_error", predicted_error},
          {"measured_error", measured_error},
          {"measured_cosine", measured_cosine},
          {"predicted_seconds", predicted_seconds},
          {"exact_seconds", exact_seconds},
          {"predicted_slowdown", exact_seconds > 0 ? predicted_seconds / exact_seconds : 1.0},
          {"chosen_by", chosen_by},
          {"planning_seconds", planning_seconds},
          {"measuring_seconds", measuring_seconds},
          {"planning_cpu_seconds", planning_cpu_seconds},
          {"measuring_cpu_seconds", measuring_cpu_seconds},
          {"measurements_cached", measurements_cached},
          {"plans_built", plans_built},
          {"plan_lookups", plan_lookups},
          {"layers", layers},
          {"uniform", uni},
          {"backward", backward}};
}

std::string auto_plan_table(const AutoPlan& p) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "  %-28s %-30s %12s %12s %10s\n", "layer", "mode", "bytes saved", "pred. error",
                "pred. ms");
  out += line;
  for (const PlanRow& r : p.rows) {
    std::snprintf(line, sizeof line, "  %-28s %-30s %12s %12.3g %10.2f\n", r.layer.c_str(), r.spec.c_str(),
                  r.bytes_saved ? format_bytes(r.bytes_saved).c_str() : "-", r.predicted_error,
                  1e3 * r.predicted_seconds);
    out += line;
  }
  std::snprintf(line, sizeof line, "training step: %s planned for a budget of %s (exact %s%s%s); batch %lld\n",
                format_bytes(p.planned_step_bytes).c_str(), format_bytes(p.step_budget_bytes).c_str(),
                format_bytes(p.exact_step_bytes).c_str(), p.smallest_step_bytes ? ", smallest reachable " : "",
                p.smallest_step_bytes ? format_bytes(p.smallest_step_bytes).c_str() : "",
                static_cast<long long>(p.batch));
  out += line;
  if (p.micro_batches > 1) {
    std::snprintf(line, sizeof line,
                  "micro-batches: train.micro_batches = %d, %lld samples per pass (the splitting alone: gradient "
                  "error %.4g, step time x%.2f)\n",
                  p.micro_batches, static_cast<long long>(p.batch / p.micro_batches), p.micro_batch_error,
                  p.micro_batch_slowdown);
    out += line;
  }
  if (p.process_budget_bytes > 0) {
    std::snprintf(line, sizeof line, "process: %s predicted (%s besides the step) for memory.budget_mb %s\n",
                  format_bytes(p.planned_step_bytes + p.outside_step_bytes).c_str(),
                  format_bytes(p.outside_step_bytes).c_str(), format_bytes(p.process_budget_bytes).c_str());
    out += line;
  }
  std::snprintf(line, sizeof line,
                "gradient error: %.4g predicted, %.4g measured (cosine %.5f); step time x%.2f of exact predicted; "
                "chosen by %s\n",
                p.predicted_error, p.measured_error, p.measured_cosine,
                p.exact_seconds > 0 ? p.predicted_seconds / p.exact_seconds : 1.0, p.chosen_by.c_str());
  out += line;
  if (!p.uniform.empty()) {
    out += "uniform single-mode configurations, on the same batches:\n";
    std::snprintf(line, sizeof line, "  %-30s %12s %6s %12s %12s %10s\n", "mode", "step", "fits", "meas. error",
                  "cosine", "pred. time");
    out += line;
    for (const UniformBaseline& u : p.uniform) {
      char err[32] = "-", cos[32] = "-";
      if (u.measured_error >= 0) {
        std::snprintf(err, sizeof err, "%.4g", u.measured_error);
        std::snprintf(cos, sizeof cos, "%.5f", u.measured_cosine);
      }
      std::snprintf(line, sizeof line, "  %-30s %12s %6s %12s %12s %9.2fx\n", u.spec.c_str(),
                    format_bytes(u.step_bytes).c_str(), u.fits ? "yes" : "no", err, cos,
                    p.exact_seconds > 0 ? u.predicted_seconds / p.exact_seconds : 1.0);
      out += line;
    }
  }
  std::snprintf(line, sizeof line,
                "planning %.2f s (%.2f s CPU; %llu step plans, %llu lookups), measuring %.1f s (%.1f s CPU)%s\n",
                p.planning_seconds, p.planning_cpu_seconds, static_cast<unsigned long long>(p.plans_built),
                static_cast<unsigned long long>(p.plan_lookups), p.measuring_seconds, p.measuring_cpu_seconds,
                p.measurements_cached ? " (errors and times from the cache)" : "");
  out += line;
  return out;
}

void write_auto_plan(const AutoPlan& plan, const std::string& dir) {
  std::filesystem::create_directories(dir);
  write_file_atomic(dir + "/auto_plan.json", plan.json().dump(2) + "\n");
  write_file_atomic(dir + "/backward_plan.json",
                    nlohmann::json({{"backward", plan.backward}, {"train", {{"micro_batches", plan.micro_batches}}}})
                            .dump(2) +
                        "\n");
}

}  // namespace frugal
