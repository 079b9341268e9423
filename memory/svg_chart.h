// Inline-SVG charts for the HTML reports (memory.html, a run's report.html, compare.html): the number
// formatting and axis ticks shared by every chart, and a small x/y chart of lines and points. The SVG
// scales to the page width and needs no scripts; tooltips are <title> elements.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace frugal {

// "%.*f" of v.
std::string format_fixed(double v, int decimals);
// Coordinates in SVG user units: one decimal.
std::string svg_num(double v);
// A 1-2-5 step giving about `count` ticks over a span of `span` (> 0).
double tick_step(double span, int count);
// Decimals that show a tick step exactly (0 for steps >= 1).
int decimals_for(double step);

// A categorical colour for series i (10 colours, then they repeat).
const char* series_color(size_t i);

struct ChartSeries {
  std::string name;   // legend and tooltips
  std::string color;  // "#rrggbb"
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in the given order
  bool line = true;      // join the points
  bool markers = true;   // a dot at each point
  bool dashed = false;
  double marker_radius = 3;
  std::vector<std::string> point_labels;  // optional text beside each point (same length as points)
};

struct ChartSpec {
  std::string title;  // aria label and heading inside the SVG
  std::string x_label, y_label;
  std::vector<ChartSeries> series;
  bool x_from_zero = false, y_from_zero = false;  // extend the axis down to 0
  bool x_integer = false;                         // x ticks at whole numbers only (epochs)
  double width = 560, height = 340;               // SVG user units (the plot; a legend adds rows below)
  bool legend = false;  // draw the series names inside the SVG (for standalone .svg files)
};

// The chart with nice ticks on both axes, or a "no data" placeholder when no series has a point.
std::string xy_chart_svg(const ChartSpec& spec);

// The chart as a standalone .svg file (its own stylesheet and white background), for Markdown pages.
std::string standalone_svg(const std::string& inline_svg);

// An HTML legend (<div class='legend'>) naming each series with its colour.
std::string chart_legend_html(const std::vector<ChartSeries>& series);

}  // namespace frugal
