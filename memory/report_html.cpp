#include <algorithm>
#include <cstdio>
#include <sstream>

#include "memory/format.h"
#include "memory/report.h"
#include "memory/report_html_parts.h"

namespace frugal {

namespace {

// Inline, so the page renders the same offline and from an archive. System fonts only.
const char* const kStyle = R"css(
:root { --ink:#1f2430; --muted:#5c6370; --line:#e3e6eb; --card:#f7f8fa; }
* { box-sizing:border-box; }
body { margin:0; padding:28px 36px 48px; color:var(--ink); background:#fff;
  font:14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size:22px; margin:0 0 6px; }
h2 { font-size:16px; margin:34px 0 10px; }
.chips span { display:inline-block; margin:4px 6px 0 0; padding:2px 9px; border-radius:10px;
  background:var(--card); border:1px solid var(--line); color:var(--muted); font-size:12px; }
.chips b { color:var(--ink); font-weight:600; }
.cards { display:grid; grid-template-columns:repeat(5, 1fr); gap:12px; margin-top:18px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.card .k { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.card .v { font-size:22px; font-weight:650; margin-top:2px; font-variant-numeric:tabular-nums; }
.card .n { color:var(--muted); font-size:12px; margin-top:2px; }
svg.chart { width:100%; height:auto; display:block; }
svg text { font-family:inherit; fill:var(--ink); }
svg .tick, svg .xlabel { font-size:11px; fill:var(--muted); }
svg .axis { font-size:12px; fill:var(--muted); }
svg .phase { font-size:12px; font-weight:600; fill:var(--muted); }
svg .mark { font-size:12px; font-weight:600; paint-order:stroke; stroke:#fff; stroke-width:3px;
  stroke-linejoin:round; }
svg .grid { stroke:#000; stroke-opacity:.08; }
svg .baseline { stroke:#9aa0a8; }
svg .divider { stroke:#b9bec6; stroke-dasharray:3 3; }
svg .area { fill-opacity:.9; stroke:#fff; stroke-width:.6; }
svg .planline { stroke:#1f2430; stroke-dasharray:6 4; stroke-width:1.2; }
svg .peakline { stroke:#1f2430; stroke-width:1; stroke-dasharray:2 3; }
svg .peakdot { fill:#1f2430; }
svg .hover { fill:transparent; }
svg .hover:hover { fill:#000; fill-opacity:.06; }
.legend { display:flex; flex-wrap:wrap; gap:6px 18px; margin:8px 0 0 58px; color:var(--muted); font-size:13px; }
.swatch { display:inline-block; width:11px; height:11px; border-radius:2px; margin-right:6px; vertical-align:-1px; }
table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
th, td { padding:5px 10px; border-bottom:1px solid var(--line); text-align:left; white-space:nowrap; }
th { color:var(--muted); font-weight:600; font-size:12px; text-transform:uppercase; letter-spacing:.03em; }
td.num, th.num { text-align:right; }
td.name { font-family:ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size:12.5px; }
.peakbar { display:flex; height:22px; border-radius:4px; overflow:hidden; margin:6px 0 12px; }
.cellbar { height:8px; border-radius:2px; background:#8aa4c8; }
.split { display:grid; grid-template-columns:minmax(0, 1fr); gap:8px; }
.note { color:var(--muted); font-size:12px; margin-top:6px; }
svg .charttitle { font-size:13px; font-weight:600; }
.charts { display:grid; grid-template-columns:repeat(auto-fit, minmax(420px, 1fr)); gap:18px 28px; }
.charts .legend { margin-left:0; }
)css";

std::string card(const std::string& key, const std::string& value, const std::string& note) {
  return "<div class='card'><div class='k'>" + html_escape(key) + "</div><div class='v'>" +
         html_escape(value) + "</div><div class='n'>" + html_escape(note) + "</div></div>";
}

std::string percent(size_t part, size_t whole) {
  char text[16];
  std::snprintf(text, sizeof text, "%.1f%%", whole ? 100.0 * static_cast<double>(part) / whole : 0.0);
  return text;
}

void write_header(std::ostringstream& html, const MemoryReport& r) {
  html << "<h1>Memory report</h1><div class='chips'>";
  html << "<span>planner <b>" << html_escape(r.planner) << "</b></span>";
  for (auto it = r.extra.begin(); it != r.extra.end(); ++it)
    html << "<span>" << html_escape(it.key()) << " <b>"
         << html_escape(it->is_string() ? it->get<std::string>() : it->dump()) << "</b></span>";
  html << "</div><div class='cards'>";
  const std::string measured_note = r.measured_peak_bytes == r.peak_bytes
                                        ? "matches the plan"
                                        : format_change(r.measured_peak_bytes, r.peak_bytes) + " vs the plan";
  html << card("planned peak", format_bytes(r.peak_bytes), r.planner + " planner")
       << card("lower bound", format_bytes(r.lower_bound_bytes),
               "planner overhead " + format_change(r.peak_bytes, r.lower_bound_bytes))
       << card("measured peak", format_bytes(r.measured_peak_bytes), measured_note)
       << card("peak RSS", format_bytes(r.peak_rss_bytes), "whole process")
       << card("peak at", r.peak_label.empty() ? "t=" + std::to_string(r.peak_time) : r.peak_label,
               r.peak_phase + ", t=" + std::to_string(r.peak_time));
  html << "</div>";
  if (r.device.present) {
    const DeviceMemoryStats& s = r.device.stats;
    const std::string allocated_note = s.allocated_bytes == r.device.planned_bytes
                                           ? "as planned"
                                           : format_change(s.allocated_bytes, r.device.planned_bytes) + " vs the plan";
    std::string parts;
    for (const auto& [part, bytes] : s.runtime_parts) parts += (parts.empty() ? "" : "; ") + part + " " + format_bytes(bytes);
    html << "<div class='cards'>"
         << card(r.device.device + " planned", format_bytes(r.device.planned_bytes), "arena, persistent, staging")
         << card(r.device.device + " allocated", format_bytes(s.allocated_bytes), allocated_note)
         << card(r.device.device + " runtime", format_bytes(s.runtime_bytes()), parts)
         << card(r.device.device + " peak used", format_bytes(s.peak_used_bytes),
                 "driver, of " + format_bytes(s.total_bytes) + ", all processes")
         << "</div>";
  }
}

void write_legend(std::ostringstream& html, const MemoryReport& r) {
  html << "<div class='legend'>";
  for (MemoryCategory c : chart_category_order()) {
    bool any = false;
    for (const CategoryBytes& live : r.timeline) any = any || live[static_cast<int>(c)] > 0;
    if (any)
      html << "<span><span class='swatch' style='background:" << category_color(c) << "'></span>"
           << memory_category_name(c) << "</span>";
  }
  html << "<span><span class='swatch' style='background:none;border-top:2px dashed #1f2430;"
          "height:0;width:16px'></span>planner peak</span>";
  // Phase bands, in schedule order of first appearance.
  std::vector<std::string> phases;
  for (const SchedulePoint& p : r.schedule)
    if (std::find(phases.begin(), phases.end(), p.phase) == phases.end()) phases.push_back(p.phase);
  for (const std::string& phase : phases)
    html << "<span><span class='swatch' style='background:" << phase_color(phase)
         << ";border:1px solid #d5d9df'></span>" << html_escape(phase) << " phase</span>";
  html << "</div>";
}

void write_peak_breakdown(std::ostringstream& html, const MemoryReport& r) {
  const size_t at_peak = total_bytes(r.by_category_at_peak);
  html << "<h2>At the peak: " << format_bytes(at_peak) << " live (t=" << r.peak_time << ", "
       << html_escape(r.peak_label) << ", " << html_escape(r.peak_phase) << ")</h2><div class='peakbar'>";
  for (MemoryCategory c : chart_category_order()) {
    const size_t bytes = r.by_category_at_peak[static_cast<int>(c)];
    if (bytes > 0)
      html << "<div title='" << memory_category_name(c) << ' ' << format_bytes(bytes)
           << "' style='background:" << category_color(c) << ";width:" << percent(bytes, at_peak)
           << "'></div>";
  }
  html << "</div><table><tr><th>category</th><th class='num'>bytes</th><th class='num'>share</th></tr>";
  for (MemoryCategory c : chart_category_order()) {
    const size_t bytes = r.by_category_at_peak[static_cast<int>(c)];
    if (bytes == 0) continue;
    html << "<tr><td><span class='swatch' style='background:" << category_color(c) << "'></span>"
         << memory_category_name(c) << "</td><td class='num'>" << format_bytes(bytes)
         << "</td><td class='num'>" << percent(bytes, at_peak) << "</td></tr>";
  }
  html << "<tr><th>total</th><th class='num'>" << format_bytes(at_peak)
       << "</th><th class='num'>100%</th></tr>"
       << "</table>";
}

void write_layer_table(std::ostringstream& html, const MemoryReport& r) {
  html << "<h2>By layer</h2>";
  if (r.by_layer.empty()) {
    html << "<p class='note'>No per-layer rows.</p>";
    return;
  }
  size_t heaviest = 1;
  bool any_kind = false, any_mode = false;  // rows derived from buffers have neither: drop the columns
  for (const LayerMemoryRow& row : r.by_layer) {
    heaviest = std::max(heaviest, row.total_bytes());
    any_kind = any_kind || !row.kind.empty();
    any_mode = any_mode || !row.mode.empty();
  }
  html << "<table><tr><th>layer</th>" << (any_kind ? "<th>kind</th>" : "")
       << (any_mode ? "<th>mode</th>" : "")
       << "<th class='num'>activations</th>"
          "<th class='num'>stash</th><th class='num'>params</th><th class='num'>workspace</th>"
          "<th class='num'>total</th><th style='width:22%'></th></tr>";
  for (const LayerMemoryRow& row : r.by_layer) {
    html << "<tr><td class='name'>" << html_escape(row.name) << "</td>";
    if (any_kind) html << "<td>" << html_escape(row.kind) << "</td>";
    if (any_mode) html << "<td>" << html_escape(row.mode) << "</td>";
    for (size_t bytes : {row.activation_bytes, row.stash_bytes, row.param_bytes, row.workspace_bytes})
      html << "<td class='num'>" << (bytes ? format_bytes(bytes) : "&middot;") << "</td>";
    html << "<td class='num'><b>" << format_bytes(row.total_bytes()) << "</b></td><td><div class='cellbar' "
         << "style='width:" << percent(row.total_bytes(), heaviest) << "'></div></td></tr>";
  }
  html << "</table><p class='note'>Bytes each layer is responsible for over the step (not all live at "
          "once); params include gradients and optimizer state where the executor counts them.</p>";
}

}  // namespace

const std::vector<MemoryCategory>& chart_category_order() {
  static const std::vector<MemoryCategory> order = {MemoryCategory::Weights,        MemoryCategory::Gradients,
                                                    MemoryCategory::OptimizerState, MemoryCategory::Data,
                                                    MemoryCategory::Activations,    MemoryCategory::Stash,
                                                    MemoryCategory::Workspace,      MemoryCategory::Other};
  return order;
}

const char* category_color(MemoryCategory c) {
  switch (c) {
    case MemoryCategory::Weights: return "#4e79a7";
    case MemoryCategory::Gradients: return "#a0cbe8";
    case MemoryCategory::OptimizerState: return "#b07aa1";
    case MemoryCategory::Activations: return "#f28e2b";
    case MemoryCategory::Stash: return "#e15759";
    case MemoryCategory::Workspace: return "#edc948";
    case MemoryCategory::Data: return "#59a14f";
    case MemoryCategory::Other: return "#bab0ac";
  }
  return "#bab0ac";
}

const char* phase_color(const std::string& phase) {
  if (phase == "forward") return "#eef3fa";
  if (phase == "backward") return "#fbf1e7";
  if (phase == "optimizer") return "#eef6ec";
  return "#f4f4f5";  // data and anything else
}

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += ch;
    }
  }
  return out;
}

const char* report_css() { return kStyle; }

std::string memory_report_sections_html(const MemoryReport& r) {
  std::ostringstream html;
  write_header(html, r);
  html << "<h2>Live memory over one training step</h2>" << timeline_chart_svg(r);
  write_legend(html, r);
  write_peak_breakdown(html, r);
  write_layer_table(html, r);
  return html.str();
}

std::string memory_report_html(const MemoryReport& r) {
  std::ostringstream html;
  html << "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
       << "<meta name='viewport' content='width=device-width, initial-scale=1'>"
       << "<title>frugal memory report: " << html_escape(r.planner) << ", peak " << format_bytes(r.peak_bytes)
       << "</title><style>" << kStyle << "</style></head><body>" << memory_report_sections_html(r)
       << "</body></html>\n";
  return html.str();
}

}  // namespace frugal
