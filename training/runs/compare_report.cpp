#include "training/runs/compare_report.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "core/io/atomic_file.h"
#include "memory/format.h"
#include "memory/report_html_parts.h"
#include "memory/svg_chart.h"
#include "training/runs/run_charts.h"

namespace frugal {
namespace fs = std::filesystem;
namespace {

const char* kMissing = "\u2013";  // en dash

std::string fmt(const char* format, double v) {
  char text[64];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

std::string epochs_text(const RunRecord& r) {
  if (r.summary.is_object() && r.summary.contains("epochs_completed"))
    return std::to_string(r.summary.at("epochs_completed").get<int64_t>());
  return std::to_string(r.epochs.size());
}

struct Column {
  const char* title;
  bool numeric;
  std::string (*cell)(const RunRecord&);
};

std::string or_missing(const std::optional<double>& v, const char* format, double scale = 1) {
  return v ? fmt(format, *v * scale) : kMissing;
}

std::string bytes_or_missing(const std::optional<double>& v) {
  return v ? format_bytes(static_cast<size_t>(*v)) : kMissing;
}

// The numeric columns, shared by the Markdown and the HTML table.
const std::vector<Column>& columns() {
  static const std::vector<Column> cols = {
      {"status", false, [](const RunRecord& r) { return r.status(); }},
      {"epochs", true, epochs_text},
      {"final acc", true, [](const RunRecord& r) { return or_missing(r.final_test_accuracy(), "%.2f%%", 100); }},
      {"best acc", true, [](const RunRecord& r) { return or_missing(r.best_test_accuracy(), "%.2f%%", 100); }},
      {"peak planned", true, [](const RunRecord& r) { return bytes_or_missing(r.peak_planned_bytes()); }},
      {"stash", true, [](const RunRecord& r) { return bytes_or_missing(r.stash_bytes()); }},
      {"peak RSS", true, [](const RunRecord& r) { return bytes_or_missing(r.peak_rss_bytes()); }},
      {"img/s", true, [](const RunRecord& r) { return or_missing(r.images_per_second(), "%.0f"); }},
      {"step", true, [](const RunRecord& r) { return or_missing(r.step_seconds(), "%.1f ms", 1000); }},
      {"wall", true, [](const RunRecord& r) { return or_missing(r.wall_seconds(), "%.1f s"); }},
      {"backward modes", false, [](const RunRecord& r) {
         std::string m = r.backward_modes();
         return m.empty() ? std::string(kMissing) : m;
       }},
  };
  return cols;
}

std::string markdown_cell(std::string text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string chart_block(const ChartSpec& a, const ChartSpec& b) {
  return "<div class='charts'><div>" + xy_chart_svg(a) + "</div><div>" + xy_chart_svg(b) + "</div></div>";
}

}  // namespace

std::string compare_markdown(const std::vector<RunRecord>& runs) {
  std::ostringstream md;
  md << "| run |";
  for (const Column& c : columns()) md << ' ' << c.title << " |";
  md << "\n|---|";
  for (const Column& c : columns()) md << (c.numeric ? "---:|" : "---|");
  md << "\n";
  for (const RunRecord& r : runs) {
    md << "| " << markdown_cell(r.label) << " |";
    for (const Column& c : columns()) md << ' ' << markdown_cell(c.cell(r)) << " |";
    md << "\n";
  }
  return md.str();
}

std::string compare_html(const std::vector<RunRecord>& runs, const std::string& out_dir) {
  std::ostringstream html;
  html << "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
       << "<meta name='viewport' content='width=device-width, initial-scale=1'>"
       << "<title>frugal: comparison of " << runs.size() << " runs</title><style>" << report_css()
       << "</style></head><body><h1>Comparison of " << runs.size() << " runs</h1>";
  html << "<table><tr><th>run</th>";
  for (const Column& c : columns()) html << "<th" << (c.numeric ? " class='num'" : "") << ">" << c.title << "</th>";
  html << "</tr>";
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunRecord& r = runs[i];
    const fs::path report = fs::path(r.dir) / "report.html";
    const std::string link = fs::exists(report) ? fs::relative(report, out_dir).generic_string() : "";
    html << "<tr><td class='name'><span class='swatch' style='background:" << series_color(i) << "'></span>";
    if (!link.empty()) html << "<a href='" << html_escape(link) << "'>";
    html << html_escape(r.label) << (link.empty() ? "" : "</a>") << "</td>";
    for (const Column& c : columns())
      html << "<td" << (c.numeric ? " class='num'" : " style='white-space:normal'") << ">" << html_escape(c.cell(r))
           << "</td>";
    html << "</tr>";
  }
  html << "</table><p class='note'>Peak planned: the memory planner's peak for one training step (weights, "
          "gradients, optimizer state, activations, stash, workspace, the batch). Stash: bytes kept for the "
          "backward pass. Step: training seconds per optimizer step over all epochs. Wall: the last session "
          "of the run.</p>";
  std::vector<ChartSeries> legend;
  for (size_t i = 0; i < runs.size(); ++i) {
    ChartSeries s;
    s.name = runs[i].label;
    s.color = series_color(i);
    legend.push_back(std::move(s));
  }
  html << "<h2>Learning curves</h2>"
       << chart_block(epoch_curve_chart(runs, "test_accuracy", "Test accuracy per epoch", "test accuracy (%)", true),
                      epoch_curve_chart(runs, "test_loss", "Test loss per epoch", "test loss", false))
       << chart_legend_html(legend);
  html << "<h2>Accuracy, memory and time</h2>"
       << chart_block(accuracy_memory_chart(runs), step_time_memory_chart(runs)) << chart_legend_html(legend);
  html << "<p class='note'>Run directories:";
  for (const RunRecord& r : runs) html << "<br>" << html_escape(r.label) << ": " << html_escape(r.dir);
  html << "</p></body></html>\n";
  return html.str();
}

void write_comparison(const std::vector<RunRecord>& runs, const std::string& out_dir) {
  fs::create_directories(out_dir);
  const fs::path dir(out_dir);
  write_file_atomic((dir / "compare.md").string(), compare_markdown(runs));
  write_file_atomic((dir / "compare.html").string(), compare_html(runs, out_dir));
  auto with_legend = [](ChartSpec spec) {
    spec.legend = true;
    return standalone_svg(xy_chart_svg(spec));
  };
  write_file_atomic((dir / "compare-accuracy.svg").string(),
                    with_legend(epoch_curve_chart(runs, "test_accuracy", "Test accuracy per epoch",
                                                  "test accuracy (%)", true)));
  write_file_atomic((dir / "compare-loss.svg").string(),
                    with_legend(epoch_curve_chart(runs, "test_loss", "Test loss per epoch", "test loss", false)));
  write_file_atomic((dir / "compare-pareto.svg").string(), with_legend(accuracy_memory_chart(runs)));
  write_file_atomic((dir / "compare-step-time.svg").string(), with_legend(step_time_memory_chart(runs)));
}

}  // namespace frugal
