// memory.json back into a MemoryReport, so pages written after the run (a run's report.html,
// compare.html) show the same report without re-planning the step.
#include "core/error.h"
#include "memory/report.h"

namespace frugal {
namespace {

using json = nlohmann::json;

CategoryBytes categories_from_json(const json& j) {
  CategoryBytes bytes{};
  for (int c = 0; c < kNumMemoryCategories; ++c)
    bytes[c] = j.value(memory_category_name(static_cast<MemoryCategory>(c)), size_t{0});
  return bytes;
}

}  // namespace

MemoryReport memory_report_from_json(const json& j) {
  if (!j.is_object()) throw DataError("memory report: expected a JSON object, found " + std::string(j.type_name()));
  MemoryReport r;
  try {
    r.planner = j.value("planner", std::string());
    r.peak_bytes = j.value("peak_bytes", size_t{0});
    r.lower_bound_bytes = j.value("lower_bound_bytes", size_t{0});
    r.measured_peak_bytes = j.value("measured_peak_bytes", size_t{0});
    r.peak_rss_bytes = j.value("peak_rss_bytes", size_t{0});
    r.peak_time = j.value("peak_time", int32_t{0});
    r.peak_label = j.value("peak_label", std::string());
    r.peak_phase = j.value("peak_phase", std::string());
    if (j.contains("by_category")) r.by_category_at_peak = categories_from_json(j.at("by_category"));
    for (const json& row : j.value("by_layer", json::array())) {
      LayerMemoryRow l;
      l.name = row.value("name", std::string());
      l.kind = row.value("kind", std::string());
      l.mode = row.value("mode", std::string());
      l.activation_bytes = row.value("activation_bytes", size_t{0});
      l.stash_bytes = row.value("stash_bytes", size_t{0});
      l.param_bytes = row.value("param_bytes", size_t{0});
      l.workspace_bytes = row.value("workspace_bytes", size_t{0});
      r.by_layer.push_back(std::move(l));
    }
    for (const json& point : j.value("timeline", json::array())) {
      r.schedule.push_back({point.value("label", std::string()), point.value("phase", std::string())});
      r.timeline.push_back(categories_from_json(point.value("live", json::object())));
    }
    r.extra = j.value("extra", json::object());
  } catch (const json::exception& e) {
    throw DataError(std::string("memory report: malformed field: ") + e.what());
  }
  return r;
}

}  // namespace frugal
