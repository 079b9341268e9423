#include "training/runs/run_report.h"

#include <cstdio>
#include <sstream>

#include "core/io/atomic_file.h"
#include "memory/format.h"
#include "memory/report.h"
#include "memory/report_html_parts.h"
#include "memory/svg_chart.h"

namespace frugal {
namespace {

ChartSeries curve(const RunRecord& run, const std::string& key, const std::string& name, const char* color,
                  bool dashed, double scale) {
  ChartSeries s;
  s.name = name;
  s.color = color;
  s.dashed = dashed;
  s.points = run.curve(key);
  for (auto& p : s.points) p.second *= scale;
  return s;
}

std::string chip(const std::string& key, const std::string& value) {
  return "<span>" + html_escape(key) + " <b>" + html_escape(value) + "</b></span>";
}

std::string percent(const std::optional<double>& v) {
  if (!v) return "\u2013";
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", *v * 100);
  return text;
}

}  // namespace

std::string run_report_html(const RunRecord& run) {
  std::ostringstream html;
  html << "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
       << "<meta name='viewport' content='width=device-width, initial-scale=1'>"
       << "<title>frugal run " << html_escape(run.label) << "</title><style>" << report_css()
       << "</style></head><body><h1>Run " << html_escape(run.label) << "</h1><div class='chips'>"
       << chip("status", run.status()) << chip("epochs", std::to_string(run.epochs.size()))
       << chip("final test accuracy", percent(run.final_test_accuracy()))
       << chip("best", percent(run.best_test_accuracy()));
  if (auto ips = run.images_per_second()) {
    char text[32];
    std::snprintf(text, sizeof text, "%.0f", *ips);
    html << chip("images/s", text);
  }
  if (run.config.is_object() && run.config.contains("model"))
    html << chip("model", run.config.at("model").value("arch", std::string()));
  html << "</div>";

  ChartSpec accuracy;
  accuracy.title = "Accuracy per epoch";
  accuracy.x_label = "epoch";
  accuracy.x_integer = true;
  accuracy.y_label = "accuracy (%)";
  accuracy.series = {curve(run, "train_accuracy", "train", "#4e79a7", true, 100),
                     curve(run, "test_accuracy", "test", "#e15759", false, 100)};
  ChartSpec loss;
  loss.title = "Loss per epoch";
  loss.x_label = "epoch";
  loss.x_integer = true;
  loss.y_label = "loss";
  loss.series = {curve(run, "train_loss", "train", "#4e79a7", true, 1),
                 curve(run, "test_loss", "test", "#e15759", false, 1)};
  html << "<h2>Learning curves</h2><div class='charts'><div>" << xy_chart_svg(accuracy) << "</div><div>"
       << xy_chart_svg(loss) << "</div></div>" << chart_legend_html(accuracy.series);
  if (run.memory.is_object())
    html << "<div style='margin-top:36px'>" << memory_report_sections_html(memory_report_from_json(run.memory)) << "</div>";
  else
    html << "<p class='note'>No memory.json yet: the memory report is written after the first training step.</p>";
  html << "</body></html>\n";
  return html.str();
}

void write_run_report(const std::string& run_dir) {
  write_file_atomic(run_dir + "/report.html", run_report_html(read_run(run_dir)));
}

}  // namespace frugal
