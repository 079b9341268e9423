#include "memory/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "memory/report_html_parts.h"

namespace frugal {

std::string format_fixed(double v, int decimals) {
  char text[48];
  std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return text;
}

std::string svg_num(double v) { return format_fixed(v, 1); }

double tick_step(double span, int count) {
  const double raw = span / count;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (m * power >= raw) return m * power;
  return 10.0 * power;
}

int decimals_for(double step) {
  return step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
}

const char* series_color(size_t i) {
  static const char* colors[] = {"#4e79a7", "#e15759", "#59a14f", "#f28e2b", "#b07aa1",
                                 "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#bab0ac"};
  return colors[i % (sizeof colors / sizeof colors[0])];
}

namespace {

// Margins around the plot area, in SVG user units.
constexpr double kLeft = 62, kRight = 18, kTop = 34, kBottom = 46;

struct Axis {
  double lo = 0, hi = 1, step = 1;
};

// Nice bounds around [min, max]: multiples of a 1-2-5 step, a flat range widened to one step.
Axis nice_axis(double min, double max, bool from_zero, bool integer = false) {
  if (from_zero) min = std::min(min, 0.0), max = std::max(max, 0.0);
  double span = max - min;
  if (!(span > 0)) span = std::max(std::fabs(max), 1.0) * 0.1;
  Axis a;
  a.step = tick_step(span, 5);
  if (integer) a.step = std::max(a.step, 1.0);
  a.lo = std::floor(min / a.step + 1e-9) * a.step;
  a.hi = std::ceil(max / a.step - 1e-9) * a.step;
  if (a.hi <= a.lo) a.hi = a.lo + a.step;
  return a;
}

// A text box in SVG user units.
struct Box {
  double x0, y0, x1, y1;
};

double overlap(const Box& a, const Box& b) {
  const double w = std::min(a.x1, b.x1) - std::max(a.x0, b.x0), h = std::min(a.y1, b.y1) - std::max(a.y0, b.y0);
  return w > 0 && h > 0 ? w * h : 0;
}

// Where a point's label goes: beside the point, towards the middle of the plot, alternately above and
// below it; otherwise the first of the other sides that stays inside the chart and clear of the labels
// placed before it and of the markers; failing that, the side that overprints least. The width is an
// estimate (11px semi-bold text), as the legend's is.
struct LabelPlace {
  double x, y;
  bool anchor_end;
  Box box;  // what the label covers: an obstacle for the labels placed after it
};

LabelPlace place_label(double x, double y, size_t length, bool prefer_left, bool prefer_above, const Box& inside,
                       const std::vector<Box>& taken) {
  const double w = 6.8 * static_cast<double>(length);
  LabelPlace best{};
  double best_cost = std::numeric_limits<double>::infinity();
  // Baseline offsets: just above or below the point, then a line further out.
  const double above[] = {-7, 15, -20, 28}, below[] = {15, -7, 28, -20};
  for (int side = 0; side < 2; ++side)
    for (int k = 0; k < 4; ++k) {
      const double dy = prefer_above ? above[k] : below[k];
      const bool left = (side == 0) == prefer_left;
      const double tx = x + (left ? -8 : 8), ty = y + dy;
      const Box box{left ? tx - w : tx, ty - 10, left ? tx : tx + w, ty + 3};
      double cost = 0;
      const double out = std::max(0.0, inside.x0 - box.x0) + std::max(0.0, box.x1 - inside.x1) +
                         std::max(0.0, inside.y0 - box.y0) + std::max(0.0, box.y1 - inside.y1);
      cost += 1e6 * out;
      for (const Box& t : taken) cost += overlap(box, t);
      if (cost < best_cost) best_cost = cost, best = {tx, ty, left, box};
      if (cost == 0) return best;
    }
  return best;
}

// Legend entries laid out in rows under the chart: (x, row) per series; returns the number of rows.
int legend_layout(const std::vector<ChartSeries>& series, double width, std::vector<std::pair<double, int>>* at) {
  double x = kLeft;
  int row = 0;
  for (const ChartSeries& s : series) {
    const double w = 22 + 6.6 * static_cast<double>(s.name.size()) + 16;
    if (x + w > width - kRight && x > kLeft) x = kLeft, ++row;
    at->emplace_back(x, row);
    x += w;
  }
  return series.empty() ? 0 : row + 1;
}

}  // namespace

std::string xy_chart_svg(const ChartSpec& spec) {
  const double plot_w = spec.width - kLeft - kRight, plot_h = spec.height - kTop - kBottom;
  std::vector<std::pair<double, int>> legend_at;
  const int legend_rows = spec.legend ? legend_layout(spec.series, spec.width, &legend_at) : 0;
  const double total_h = spec.height + (legend_rows > 0 ? 8 + 18.0 * legend_rows : 0);
  std::ostringstream svg;
  svg << "<svg xmlns='http://www.w3.org/2000/svg' class='chart' viewBox='0 0 " << svg_num(spec.width) << ' '
      << svg_num(total_h) << "' role='img' aria-label='" << html_escape(spec.title) << "'>";
  svg << "<text class='charttitle' x='" << svg_num(kLeft) << "' y='18'>" << html_escape(spec.title)
      << "</text>";
  double x_min = std::numeric_limits<double>::infinity(), x_max = -x_min;
  double y_min = x_min, y_max = -x_min;
  for (const ChartSeries& s : spec.series)
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      x_min = std::min(x_min, x), x_max = std::max(x_max, x);
      y_min = std::min(y_min, y), y_max = std::max(y_max, y);
    }
  if (!(x_min <= x_max)) {
    svg << "<text class='axis' x='" << svg_num(spec.width / 2) << "' y='" << svg_num(spec.height / 2)
        << "' text-anchor='middle'>no data</text></svg>";
    return svg.str();
  }
  const Axis ax = nice_axis(x_min, x_max, spec.x_from_zero, spec.x_integer);
  const Axis ay = nice_axis(y_min, y_max, spec.y_from_zero);
  auto px = [&](double x) { return kLeft + plot_w * (x - ax.lo) / (ax.hi - ax.lo); };
  auto py = [&](double y) { return kTop + plot_h * (1.0 - (y - ay.lo) / (ay.hi - ay.lo)); };

  const int xd = decimals_for(ax.step), yd = decimals_for(ay.step);
  for (int i = 0; ax.lo + i * ax.step <= ax.hi + ax.step * 1e-6; ++i) {
    const double v = ax.lo + i * ax.step, x = px(v);
    svg << "<line x1='" << svg_num(x) << "' x2='" << svg_num(x) << "' y1='" << svg_num(kTop) << "' y2='"
        << svg_num(kTop + plot_h) << "' class='grid'/><text class='tick' x='" << svg_num(x) << "' y='"
        << svg_num(kTop + plot_h + 15) << "' text-anchor='middle'>" << format_fixed(v, xd) << "</text>";
  }
  for (int i = 0; ay.lo + i * ay.step <= ay.hi + ay.step * 1e-6; ++i) {
    const double v = ay.lo + i * ay.step, y = py(v);
    svg << "<line x1='" << svg_num(kLeft) << "' x2='" << svg_num(kLeft + plot_w) << "' y1='" << svg_num(y)
        << "' y2='" << svg_num(y) << "' class='grid'/><text class='tick' x='" << svg_num(kLeft - 7)
        << "' y='" << svg_num(y + 4) << "' text-anchor='end'>" << format_fixed(v, yd) << "</text>";
  }
  svg << "<line x1='" << svg_num(kLeft) << "' x2='" << svg_num(kLeft + plot_w) << "' y1='"
      << svg_num(kTop + plot_h) << "' y2='" << svg_num(kTop + plot_h) << "' class='baseline'/>";
  svg << "<text class='axis' x='" << svg_num(kLeft + plot_w / 2) << "' y='" << svg_num(spec.height - 8)
      << "' text-anchor='middle'>" << html_escape(spec.x_label) << "</text>";
  svg << "<text class='axis' transform='translate(15," << svg_num(kTop + plot_h / 2)
      << ") rotate(-90)' text-anchor='middle'>" << html_escape(spec.y_label) << "</text>";

  // Markers are obstacles for point labels, and so is each label once placed.
  std::vector<Box> taken;
  for (const ChartSeries& s : spec.series)
    if (s.markers)
      for (const auto& [x, y] : s.points)
        if (std::isfinite(x) && std::isfinite(y)) {
          const double r = s.marker_radius + 1;
          taken.push_back({px(x) - r, py(y) - r, px(x) + r, py(y) + r});
        }
  for (const ChartSeries& s : spec.series) {
    if (s.line && s.points.size() > 1) {
      svg << "<polyline fill='none' stroke='" << s.color << "' stroke-width='1.8'"
          << (s.dashed ? " stroke-dasharray='5 4'" : "") << " points='";
      for (const auto& [x, y] : s.points)
        if (std::isfinite(x) && std::isfinite(y)) svg << svg_num(px(x)) << ',' << svg_num(py(y)) << ' ';
      svg << "'><title>" << html_escape(s.name) << "</title></polyline>";
    }
    for (size_t i = 0; i < s.points.size(); ++i) {
      const auto& [x, y] = s.points[i];
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      if (s.markers)
        svg << "<circle cx='" << svg_num(px(x)) << "' cy='" << svg_num(py(y)) << "' r='"
            << svg_num(s.marker_radius) << "' fill='" << s.color << "'><title>" << html_escape(s.name) << ": "
            << format_fixed(x, std::max(xd, 1)) << ", " << format_fixed(y, std::max(yd, 2))
            << "</title></circle>";
      if (i < s.point_labels.size() && !s.point_labels[i].empty()) {
        // Beside the point, towards the middle; successive labels alternate above and below so that
        // neighbours on a front do not overprint each other, and move where they would.
        const LabelPlace at = place_label(px(x), py(y), s.point_labels[i].size(), px(x) > kLeft + plot_w * 0.7,
                                          i % 2 == 0, Box{2, kTop - 8, spec.width - 2, kTop + plot_h}, taken);
        taken.push_back(at.box);
        svg << "<text class='mark' x='" << svg_num(at.x) << "' y='" << svg_num(at.y) << "' text-anchor='"
            << (at.anchor_end ? "end" : "start") << "'>" << html_escape(s.point_labels[i]) << "</text>";
      }
    }
  }
  for (size_t i = 0; i < legend_at.size(); ++i) {
    const double y = spec.height + 8 + 18.0 * legend_at[i].second;
    const ChartSeries& s = spec.series[i];
    svg << "<rect x='" << svg_num(legend_at[i].first) << "' y='" << svg_num(y) << "' width='12' height='12' rx='2' fill='"
        << s.color << "'/><text class='tick' x='" << svg_num(legend_at[i].first + 18) << "' y='" << svg_num(y + 10)
        << "'>" << html_escape(s.name) << "</text>";
  }
  svg << "</svg>";
  return svg.str();
}

std::string standalone_svg(const std::string& inline_svg) {
  // The rules of report_css() that charts use, with the page's font.
  static const char* style =
      "<style>text{font:13px -apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;fill:#1f2430}"
      ".tick{font-size:11px;fill:#5c6370}.axis{font-size:12px;fill:#5c6370}.charttitle{font-weight:600}"
      ".mark{font-size:11px;font-weight:600;paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}"
      ".grid{stroke:#000;stroke-opacity:.08}.baseline{stroke:#9aa0a8}</style>"
      "<rect width='100%' height='100%' fill='#fff'/>";
  const size_t open_end = inline_svg.find('>');
  if (open_end == std::string::npos) return inline_svg;
  return "<?xml version='1.0' encoding='UTF-8'?>\n" + inline_svg.substr(0, open_end + 1) + style +
         inline_svg.substr(open_end + 1) + "\n";
}

std::string chart_legend_html(const std::vector<ChartSeries>& series) {
  std::ostringstream html;
  html << "<div class='legend'>";
  for (const ChartSeries& s : series)
    html << "<span><span class='swatch' style='background:" << s.color << "'></span>" << html_escape(s.name)
         << "</span>";
  html << "</div>";
  return html.str();
}

}  // namespace frugal
