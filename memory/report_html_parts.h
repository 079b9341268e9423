// Pieces of memory.html shared between the page (report_html.cpp) and its chart (timeline_chart.cpp).
#pragma once
#include <string>
#include <vector>

#include "memory/report.h"

namespace frugal {

// Categories bottom to top in the stacked chart: what lasts the whole step first, so the transient
// part rises and falls on a steady base.
const std::vector<MemoryCategory>& chart_category_order();
const char* category_color(MemoryCategory c);  // "#rrggbb"
const char* phase_color(const std::string& phase);
std::string html_escape(const std::string& text);

// The inline <svg> stacked area chart of r.timeline (x: schedule points with phase bands, y: MiB).
std::string timeline_chart_svg(const MemoryReport& r);

}  // namespace frugal
