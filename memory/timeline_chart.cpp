#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "memory/format.h"
#include "memory/report_html_parts.h"
#include "memory/svg_chart.h"

namespace frugal {

namespace {

// Chart geometry in SVG user units (the SVG scales to the page width).
constexpr double kWidth = 1120, kHeight = 430;
constexpr double kLeft = 64, kRight = 18, kTop = 30, kBottom = 104;
constexpr double kPlotW = kWidth - kLeft - kRight, kPlotH = kHeight - kTop - kBottom;
constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kKiB = 1024.0;

// The y axis is in MiB; below 1 MiB (a small MLP) it switches to KiB so ticks stay readable.
struct Scale {
  size_t times;
  double unit_bytes;  // kMiB or kKiB
  double top_units;   // the axis top, in units
  double x(double t) const { return kLeft + kPlotW * t / static_cast<double>(times); }
  double y(double bytes) const { return kTop + kPlotH * (1.0 - bytes / unit_bytes / top_units); }
  const char* unit() const { return unit_bytes == kMiB ? "MiB" : "KiB"; }
};

void draw_phase_bands(std::ostringstream& svg, const MemoryReport& r, const Scale& s) {
  size_t start = 0;
  for (size_t t = 1; t <= r.timeline.size(); ++t) {
    const std::string& phase = start < r.schedule.size() ? r.schedule[start].phase : std::string();
    if (t < r.timeline.size() && t < r.schedule.size() && r.schedule[t].phase == phase) continue;
    const double x0 = s.x(static_cast<double>(start)), x1 = s.x(static_cast<double>(t));
    svg << "<rect x='" << svg_num(x0) << "' y='" << svg_num(kTop) << "' width='" << svg_num(x1 - x0) << "' height='"
        << svg_num(kPlotH) << "' fill='" << phase_color(phase) << "'/>";
    // Name the band when there is room for the word; always leave a thin divider.
    if (x1 - x0 >= 7.0 * static_cast<double>(phase.size()) + 8)
      svg << "<text class='phase' x='" << svg_num((x0 + x1) / 2) << "' y='" << svg_num(kTop - 9)
          << "' text-anchor='middle'>" << html_escape(phase) << "</text>";
    if (start > 0)
      svg << "<line x1='" << svg_num(x0) << "' x2='" << svg_num(x0) << "' y1='" << svg_num(kTop - 4) << "' y2='"
          << svg_num(kTop + kPlotH) << "' class='divider'/>";
    start = t;
  }
}

void draw_y_axis(std::ostringstream& svg, const Scale& s, double step) {
  const int decimals = decimals_for(step);
  for (int i = 0; i * step <= s.top_units * (1 + 1e-9); ++i) {
    const double v = i * step;
    const double y = s.y(v * s.unit_bytes);
    svg << "<line x1='" << svg_num(kLeft) << "' x2='" << svg_num(kLeft + kPlotW) << "' y1='" << svg_num(y) << "' y2='"
        << svg_num(y) << "' class='grid'/>";
    svg << "<text class='tick' x='" << svg_num(kLeft - 8) << "' y='" << svg_num(y + 4) << "' text-anchor='end'>"
        << format_fixed(v, decimals) << "</text>";
  }
  svg << "<text class='axis' transform='translate(16," << svg_num(kTop + kPlotH / 2)
      << ") rotate(-90)' text-anchor='middle'>live memory (" << s.unit() << ")</text>";
}

void draw_areas(std::ostringstream& svg, const MemoryReport& r, const Scale& s) {
  std::vector<size_t> below(r.timeline.size(), 0);
  for (MemoryCategory c : chart_category_order()) {
    const int ci = static_cast<int>(c);
    bool any = false;
    for (const CategoryBytes& live : r.timeline) any = any || live[ci] > 0;
    if (!any) continue;
    // Step-shaped band: each schedule point is a column [t, t+1); top edge left to right, bottom back.
    std::ostringstream points;
    for (size_t t = 0; t < r.timeline.size(); ++t) {
      const double top = s.y(static_cast<double>(below[t] + r.timeline[t][ci]));
      points << svg_num(s.x(t)) << ',' << svg_num(top) << ' ' << svg_num(s.x(t + 1.0)) << ',' << svg_num(top) << ' ';
    }
    for (size_t t = r.timeline.size(); t-- > 0;) {
      const double bottom = s.y(static_cast<double>(below[t]));
      points << svg_num(s.x(t + 1.0)) << ',' << svg_num(bottom) << ' ' << svg_num(s.x(t)) << ',' << svg_num(bottom) << ' ';
    }
    svg << "<polygon class='area' points='" << points.str() << "' fill='" << category_color(c) << "'>"
        << "<title>" << memory_category_name(c) << "</title></polygon>";
    for (size_t t = 0; t < r.timeline.size(); ++t) below[t] += r.timeline[t][ci];
  }
}

void draw_x_labels(std::ostringstream& svg, const MemoryReport& r, const Scale& s) {
  const size_t n = r.timeline.size();
  const size_t every = std::max<size_t>(1, static_cast<size_t>(std::ceil(n * 13.0 / kPlotW)));
  for (size_t t = 0; t < n && t < r.schedule.size(); t += every) {
    std::string label = r.schedule[t].label;
    if (label.size() > 18) label = label.substr(0, 17) + "\u2026";
    const double x = s.x(t + 0.5);
    svg << "<text class='xlabel' transform='translate(" << svg_num(x) << ',' << svg_num(kTop + kPlotH + 10)
        << ") rotate(-55)' text-anchor='end'>" << html_escape(label) << "</text>";
  }
}

// Invisible columns whose tooltips give each point's numbers (hover works without scripts).
void draw_hover_columns(std::ostringstream& svg, const MemoryReport& r, const Scale& s) {
  for (size_t t = 0; t < r.timeline.size(); ++t) {
    svg << "<rect class='hover' x='" << svg_num(s.x(t)) << "' y='" << svg_num(kTop) << "' width='"
        << svg_num(s.x(t + 1.0) - s.x(t)) << "' height='" << svg_num(kPlotH) << "'><title>t=" << t;
    if (t < r.schedule.size())
      svg << ' ' << html_escape(r.schedule[t].label) << " (" << html_escape(r.schedule[t].phase) << ')';
    svg << "\ntotal " << format_bytes(total_bytes(r.timeline[t]));
    for (MemoryCategory c : chart_category_order())
      if (r.timeline[t][static_cast<int>(c)] > 0)
        svg << '\n' << memory_category_name(c) << ' ' << format_bytes(r.timeline[t][static_cast<int>(c)]);
    svg << "</title></rect>";
  }
}

void draw_marks(std::ostringstream& svg, const MemoryReport& r, const Scale& s) {
  // The planner's peak above the live curve is its fragmentation; the live peak is the lower bound.
  const double plan_y = s.y(static_cast<double>(r.peak_bytes));
  svg << "<line x1='" << svg_num(kLeft) << "' x2='" << svg_num(kLeft + kPlotW) << "' y1='" << svg_num(plan_y) << "' y2='"
      << svg_num(plan_y) << "' class='planline'/>";
  svg << "<text class='mark' x='" << svg_num(kLeft + kPlotW - 4) << "' y='" << svg_num(plan_y - 5)
      << "' text-anchor='end'>" << html_escape(r.planner) << " planner peak " << format_bytes(r.peak_bytes)
      << "</text>";
  const double peak_x = s.x(r.peak_time + 0.5);
  const double peak_y = s.y(static_cast<double>(total_bytes(r.by_category_at_peak)));
  svg << "<line x1='" << svg_num(peak_x) << "' x2='" << svg_num(peak_x) << "' y1='" << svg_num(peak_y) << "' y2='"
      << svg_num(kTop + kPlotH) << "' class='peakline'/>";
  svg << "<circle cx='" << svg_num(peak_x) << "' cy='" << svg_num(peak_y) << "' r='4' class='peakdot'/>";
  const bool right_half = peak_x > kLeft + kPlotW * 0.6;
  svg << "<text class='mark' x='" << svg_num(peak_x + (right_half ? -8 : 8)) << "' y='" << svg_num(peak_y + 16)
      << "' text-anchor='" << (right_half ? "end" : "start") << "'>live peak "
      << format_bytes(total_bytes(r.by_category_at_peak)) << "</text>";
}

}  // namespace

std::string timeline_chart_svg(const MemoryReport& r) {
  std::ostringstream svg;
  svg << "<svg class='chart' viewBox='0 0 " << svg_num(kWidth) << ' ' << svg_num(kHeight)
      << "' role='img' aria-label='live memory over one step'>";
  if (r.timeline.empty()) {
    svg << "<text x='" << svg_num(kWidth / 2) << "' y='" << svg_num(kHeight / 2)
        << "' text-anchor='middle'>empty schedule</text></svg>";
    return svg.str();
  }
  size_t most = r.peak_bytes;
  for (const CategoryBytes& live : r.timeline) most = std::max(most, total_bytes(live));
  const double unit = static_cast<double>(most) >= kMiB ? kMiB : kKiB;
  const double raw_top = std::max(static_cast<double>(most) / unit, 1e-3) * 1.08;
  const double step = tick_step(raw_top, 8);
  const Scale scale{r.timeline.size(), unit, std::ceil(raw_top / step) * step};
  draw_phase_bands(svg, r, scale);
  draw_y_axis(svg, scale, step);
  draw_areas(svg, r, scale);
  draw_marks(svg, r, scale);
  draw_x_labels(svg, r, scale);
  svg << "<line x1='" << svg_num(kLeft) << "' x2='" << svg_num(kLeft + kPlotW) << "' y1='" << svg_num(kTop + kPlotH)
      << "' y2='" << svg_num(kTop + kPlotH) << "' class='baseline'/>";
  draw_hover_columns(svg, r, scale);
  svg << "</svg>";
  return svg.str();
}

}  // namespace frugal
