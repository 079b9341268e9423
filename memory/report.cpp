#include "memory/report.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.h"
#include "memory/format.h"

namespace frugal {

namespace {

MemoryReport report_from_timeline(const StepDescription& step, const Planner& planner,
                                  std::vector<CategoryBytes> timeline, std::vector<LayerMemoryRow> layers,
                                  nlohmann::json extra) {
  MemoryReport r;
  r.planner = planner.name();
  r.peak_bytes = planner.predicted_peak_bytes();
  r.lower_bound_bytes = lower_bound_bytes(step);
  r.measured_peak_bytes = planner.measured_peak_bytes();
  r.peak_rss_bytes = peak_rss_bytes();
  r.timeline = std::move(timeline);
  r.schedule = step.schedule;
  if (!r.timeline.empty()) {
    r.peak_time = peak_time(r.timeline);
    r.by_category_at_peak = r.timeline[r.peak_time];
    r.peak_label = step.schedule[r.peak_time].label;
    r.peak_phase = step.schedule[r.peak_time].phase;
  }
  r.by_layer = layers.empty() ? layer_rows_from_step(step) : std::move(layers);
  r.extra = extra.is_null() ? nlohmann::json::object() : std::move(extra);
  return r;
}

nlohmann::json category_json(const CategoryBytes& bytes) {
  nlohmann::json j = nlohmann::json::object();
  for (int c = 0; c < kNumMemoryCategories; ++c)
    j[memory_category_name(static_cast<MemoryCategory>(c))] = bytes[c];
  return j;
}

// Writes `text` to `path` through a temporary file in the same directory, so readers never see half a file.
void write_atomically(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path temp =
      path.parent_path() / ("." + path.filename().string() + ".tmp" + std::to_string(::getpid()));
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      std::error_code ignored;
      std::filesystem::remove(temp, ignored);
      throw IoError("memory report: cannot write '" + temp.string() + "' (for '" + path.string() + "')");
    }
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    throw IoError("memory report: cannot rename '" + temp.string() + "' to '" + path.string() +
                  "': " + ec.message());
  }
}

// The device's bytes on the terminal: plan against allocator, the runtime apart, the driver's peak.
std::string device_lines(const DeviceMemorySection& d) {
  const DeviceMemoryStats& s = d.stats;
  std::string out;
  char line[200];
  std::snprintf(line, sizeof line, "  %-22s %12s   allocated %s (%s), peak %s, %llu allocations\n",
                (d.device + " planned").c_str(), format_bytes(d.planned_bytes).c_str(),
                format_bytes(s.allocated_bytes).c_str(),
                s.allocated_bytes == d.planned_bytes ? "as planned"
                                                     : format_change(s.allocated_bytes, d.planned_bytes).c_str(),
                format_bytes(s.allocated_peak_bytes).c_str(), static_cast<unsigned long long>(s.allocations));
  out += line;
  std::snprintf(line, sizeof line, "  %-22s %12s  ", (d.device + " runtime").c_str(),
                format_bytes(s.runtime_bytes()).c_str());
  out += line;
  for (const auto& [part, bytes] : s.runtime_parts) out += " " + part + " " + format_bytes(bytes) + ";";
  out += "\n";
  std::snprintf(line, sizeof line, "  %-22s %12s   of %s (driver, at step boundaries, all processes)\n",
                (d.device + " peak used").c_str(), format_bytes(s.peak_used_bytes).c_str(),
                format_bytes(s.total_bytes).c_str());
  out += line;
  return out;
}

nlohmann::json device_json(const DeviceMemorySection& d) {
  const DeviceMemoryStats& s = d.stats;
  nlohmann::json by_category = nlohmann::json::object();
  for (size_t c = 0; c < s.allocated_by_category.size(); ++c)
    by_category[memory_category_name(static_cast<MemoryCategory>(c))] = s.allocated_by_category[c];
  nlohmann::json runtime = nlohmann::json::object();
  for (const auto& [part, bytes] : s.runtime_parts) runtime[part] = bytes;
  return {{"device", d.device},
          {"planned_bytes", d.planned_bytes},
          {"allocated_bytes", s.allocated_bytes},
          {"allocated_peak_bytes", s.allocated_peak_bytes},
          {"unplanned_bytes", static_cast<int64_t>(s.allocated_bytes) - static_cast<int64_t>(d.planned_bytes)},
          {"allocations", s.allocations},
          {"allocated_by_category", by_category},
          {"runtime_bytes", s.runtime_bytes()},
          {"runtime_scratch_bytes", s.scratch_bytes},
          {"runtime", runtime},
          {"driver_peak_used_bytes", s.peak_used_bytes},
          {"total_bytes", s.total_bytes}};
}

}  // namespace

std::vector<LayerMemoryRow> layer_rows_from_step(const StepDescription& step) {
  std::vector<const BufferSpec*> order;
  for (const BufferSpec& b : step.buffers)
    if (!b.layer.empty()) order.push_back(&b);
  std::stable_sort(order.begin(), order.end(),
                   [](const BufferSpec* a, const BufferSpec* b) { return a->first_use < b->first_use; });
  std::vector<LayerMemoryRow> rows;
  std::map<std::string, size_t> row_of;
  for (const BufferSpec* b : order) {
    auto [it, inserted] = row_of.emplace(b->layer, rows.size());
    if (inserted) rows.push_back(LayerMemoryRow{b->layer, "", "", 0, 0, 0, 0});
    LayerMemoryRow& row = rows[it->second];
    const size_t bytes = aligned_bytes(b->bytes);
    switch (b->category) {
      case MemoryCategory::Weights:
      case MemoryCategory::Gradients:
      case MemoryCategory::OptimizerState: row.param_bytes += bytes; break;
      case MemoryCategory::Stash: row.stash_bytes += bytes; break;
      case MemoryCategory::Workspace: row.workspace_bytes += bytes; break;
      default: row.activation_bytes += bytes; break;
    }
  }
  return rows;
}

MemoryReport build_memory_report(const StepDescription& step, const Planner& planner,
                                 std::vector<LayerMemoryRow> layers, nlohmann::json extra) {
  return report_from_timeline(step, planner, live_bytes_by_category(step), std::move(layers),
                              std::move(extra));
}

MemoryReport build_memory_report(const StepDescription& step, const Planner& planner,
                                 const MemoryProfiler& measured, std::vector<LayerMemoryRow> layers,
                                 nlohmann::json extra) {
  std::vector<CategoryBytes> timeline = measured.timeline();
  FRUGAL_CHECK(timeline.size() == step.schedule.size(), InternalError,
               "memory report: the profiler recorded " + std::to_string(timeline.size()) +
                   " schedule points but the step has " + std::to_string(step.schedule.size()));
  return report_from_timeline(step, planner, std::move(timeline), std::move(layers), std::move(extra));
}

nlohmann::json memory_report_json(const MemoryReport& r) {
  nlohmann::json j;
  j["planner"] = r.planner;
  j["peak_bytes"] = r.peak_bytes;
  j["lower_bound_bytes"] = r.lower_bound_bytes;
  j["measured_peak_bytes"] = r.measured_peak_bytes;
  j["peak_rss_bytes"] = r.peak_rss_bytes;
  j["peak_time"] = r.peak_time;
  j["peak_label"] = r.peak_label;
  j["peak_phase"] = r.peak_phase;
  j["by_category"] = category_json(r.by_category_at_peak);
  j["by_layer"] = nlohmann::json::array();
  for (const LayerMemoryRow& row : r.by_layer)
    j["by_layer"].push_back({{"name", row.name},
                             {"kind", row.kind},
                             {"mode", row.mode},
                             {"activation_bytes", row.activation_bytes},
                             {"stash_bytes", row.stash_bytes},
                             {"param_bytes", row.param_bytes},
                             {"workspace_bytes", row.workspace_bytes}});
  j["timeline"] = nlohmann::json::array();
  for (size_t t = 0; t < r.timeline.size(); ++t) {
    const SchedulePoint point = t < r.schedule.size() ? r.schedule[t] : SchedulePoint{};
    j["timeline"].push_back(
        {{"t", t}, {"label", point.label}, {"phase", point.phase}, {"live", category_json(r.timeline[t])}});
  }
  j["extra"] = r.extra;
  if (r.device.present) j["device"] = device_json(r.device);
  return j;
}

void write_memory_report(const MemoryReport& r, const std::string& dir) {
  const std::filesystem::path root(dir);
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec || !std::filesystem::is_directory(root))
    throw IoError("memory report: cannot create directory '" + dir + "'" +
                  (ec ? ": " + ec.message() : std::string()));
  write_atomically(root / "memory.json", memory_report_json(r).dump(2) + "\n");
  write_atomically(root / "memory.html", memory_report_html(r));
}

std::string memory_report_table(const MemoryReport& r) {
  std::ostringstream out;
  char line[160];
  std::snprintf(line, sizeof line, "memory (%s planner)\n", r.planner.c_str());
  out << line;
  std::snprintf(line, sizeof line, "  %-22s %12s   %s over the lower bound %s\n", "peak (planned)",
                format_bytes(r.peak_bytes).c_str(), format_change(r.peak_bytes, r.lower_bound_bytes).c_str(),
                format_bytes(r.lower_bound_bytes).c_str());
  out << line;
  std::snprintf(line, sizeof line, "  %-22s %12s   peak RSS %s\n", "peak (measured)",
                format_bytes(r.measured_peak_bytes).c_str(), format_bytes(r.peak_rss_bytes).c_str());
  out << line;
  std::snprintf(line, sizeof line, "  %-22s t=%d %s (%s)\n", "peak at", r.peak_time, r.peak_label.c_str(),
                r.peak_phase.c_str());
  out << line;
  if (r.device.present) out << device_lines(r.device);
  const size_t at_peak = total_bytes(r.by_category_at_peak);
  for (int c = 0; c < kNumMemoryCategories; ++c) {
    const size_t bytes = r.by_category_at_peak[c];
    if (bytes == 0) continue;
    std::snprintf(line, sizeof line, "    %-20s %12s  %5.1f%%\n",
                  memory_category_name(static_cast<MemoryCategory>(c)), format_bytes(bytes).c_str(),
                  100.0 * static_cast<double>(bytes) / static_cast<double>(at_peak));
    out << line;
  }
  // The few layers that hold the most, so the terminal shows where to look first.
  std::vector<const LayerMemoryRow*> heaviest;
  for (const LayerMemoryRow& row : r.by_layer) heaviest.push_back(&row);
  std::stable_sort(heaviest.begin(), heaviest.end(), [](const LayerMemoryRow* a, const LayerMemoryRow* b) {
    return a->total_bytes() > b->total_bytes();
  });
  if (heaviest.size() > 5) heaviest.resize(5);
  if (!heaviest.empty()) out << "  heaviest layers:\n";
  for (const LayerMemoryRow* row : heaviest) {
    std::snprintf(line, sizeof line, "    %-32s %12s  (stash %s)\n", row->name.c_str(),
                  format_bytes(row->total_bytes()).c_str(), format_bytes(row->stash_bytes).c_str());
    out << line;
  }
  return out.str();
}

}  // namespace frugal
