// The memory report of a run: headline numbers (planned, lower bound, measured, RSS), the breakdown at
// the peak by category and by layer, and live bytes per category over one step. Written as
// memory.json and a self-contained memory.html (report_html.cpp), and as a short terminal table.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/device.h"
#include "memory/planner.h"
#include "memory/profiler.h"
#include "memory/step_description.h"

namespace frugal {

// One layer's bytes, filled by the executor (memory/ itself knows no layers).
struct LayerMemoryRow {
  std::string name, kind, mode;  // e.g. "layer1.0.conv1", "Conv2d", "randomized_trace"
  size_t activation_bytes = 0, stash_bytes = 0, param_bytes = 0, workspace_bytes = 0;
  size_t total_bytes() const { return activation_bytes + stash_bytes + param_bytes + workspace_bytes; }
};

// On a GPU, the device's bytes beside the plan (training/memory_accounting.h fills it; docs/gpu.md).
struct DeviceMemorySection {
  bool present = false;      // false on the CPU, where peak RSS stands for it
  std::string device;        // "cuda"
  size_t planned_bytes = 0;  // the plan's device bytes: the step arena, persistent buffers, batch staging
  DeviceMemoryStats stats;   // measured: the allocator, the runtime's own bytes, the driver's peak
};

struct MemoryReport {
  std::string planner;
  size_t peak_bytes = 0;                // planner's arena / high-water mark (predicted)
  size_t lower_bound_bytes = 0;         // max over time of live bytes: what a perfect placement needs
  size_t measured_peak_bytes = 0;       // what the allocator really held
  size_t peak_rss_bytes = 0;            // the whole process, from /proc
  CategoryBytes by_category_at_peak{};  // bytes live at the peak time, per category
  int32_t peak_time = 0;
  std::string peak_label, peak_phase;
  std::vector<LayerMemoryRow> by_layer;
  std::vector<SchedulePoint> schedule;
  std::vector<CategoryBytes> timeline;              // live bytes per category at each time
  nlohmann::json extra = nlohmann::json::object();  // model name, batch size, mode...: report header
  // The whole process, predicted and (after a run) measured, by part (training/process_memory.h);
  // null when not known.
  nlohmann::json process;
  DeviceMemorySection device;
};

// The timeline comes from the description's lifetimes. With no `layers`, the rows are derived from
// each buffer's `layer` (weights, gradients and optimizer state count as param_bytes).
MemoryReport build_memory_report(const StepDescription& step, const Planner& planner,
                                 std::vector<LayerMemoryRow> layers, nlohmann::json extra = {});
// The same, with the timeline and peak from what `measured` recorded during a step.
MemoryReport build_memory_report(const StepDescription& step, const Planner& planner,
                                 const MemoryProfiler& measured, std::vector<LayerMemoryRow> layers,
                                 nlohmann::json extra = {});
// Per-layer rows from the buffers' `layer` names, in order of first use; kind and mode left empty.
std::vector<LayerMemoryRow> layer_rows_from_step(const StepDescription& step);

// Keys: planner, peak_bytes, lower_bound_bytes, measured_peak_bytes, peak_rss_bytes, peak_time,
// peak_label, peak_phase, by_category {name: bytes}, by_layer [{name, kind, mode, activation_bytes,
// stash_bytes, param_bytes, workspace_bytes}], timeline [{t, label, phase, live: {category: bytes}}],
// extra; process when known; on a GPU also device {device, planned_bytes, allocated_bytes, allocated_peak_bytes,
// unplanned_bytes, allocations, allocated_by_category {category: bytes}, runtime_bytes,
// runtime_scratch_bytes, runtime {part: bytes}, driver_peak_used_bytes, total_bytes}.
nlohmann::json memory_report_json(const MemoryReport& r);
// The inverse of memory_report_json (missing keys read as empty); DataError when a field has the wrong type.
MemoryReport memory_report_from_json(const nlohmann::json& j);
// One self-contained HTML page (no network, no scripts): headline numbers, a stacked area chart of
// live bytes by category over the step with phase bands, the breakdown at peak, the per-layer table.
std::string memory_report_html(const MemoryReport& r);
// memory.json and memory.html in `dir` (created if missing), each written to a temporary file in the
// same directory and renamed into place; IoError naming the path on failure.
void write_memory_report(const MemoryReport& r, const std::string& dir);
// A short plain-text summary for the terminal.
std::string memory_report_table(const MemoryReport& r);

}  // namespace frugal
