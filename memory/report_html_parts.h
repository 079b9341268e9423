// Pieces of memory.html shared between the page (report_html.cpp), its chart (timeline_chart.cpp) and
// the pages that embed it (a run's report.html, compare.html in training/runs/).
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

// The pages' shared stylesheet (inline in each page, so it renders offline).
const char* report_css();
// Everything memory.html shows, as HTML to put inside a <body>: headline cards, the timeline chart and
// its legend, the breakdown at the peak and the per-layer table.
std::string memory_report_sections_html(const MemoryReport& r);

// The inline <svg> stacked area chart of r.timeline (x: schedule points with phase bands, y: MiB).
std::string timeline_chart_svg(const MemoryReport& r);

}  // namespace frugal
