#include "memory/svg_chart.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "memory/report.h"
#include "memory/report_html_parts.h"
#include "tests/memory/random_steps.h"

namespace frugal {
namespace {

ChartSeries series(const std::string& name, const std::string& color, std::vector<std::pair<double, double>> points) {
  ChartSeries s;
  s.name = name;
  s.color = color;
  s.points = std::move(points);
  return s;
}

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

TEST(SvgChart, TickStepsAreOneTwoOrFiveTimesAPowerOfTen) {
  EXPECT_DOUBLE_EQ(tick_step(10, 5), 2);
  EXPECT_DOUBLE_EQ(tick_step(1, 4), 0.5);
  EXPECT_DOUBLE_EQ(tick_step(0.07, 5), 0.02);
  EXPECT_DOUBLE_EQ(tick_step(730, 8), 100);
  EXPECT_EQ(decimals_for(0.02), 2);
  EXPECT_EQ(decimals_for(5), 0);
}

TEST(SvgChart, DrawsOneLineAndOneDotPerPointOfEachSeries) {
  ChartSpec spec;
  spec.title = "accuracy";
  spec.series.push_back(series("a", "#111111", {{1, 0.5}, {2, 0.7}, {3, 0.8}}));
  ChartSeries dots = series("b", "#222222", {{1, 0.6}, {2, 0.65}});
  dots.line = false;
  spec.series.push_back(dots);
  const std::string svg = xy_chart_svg(spec);
  EXPECT_EQ(count(svg, "<polyline"), 1u);
  EXPECT_EQ(count(svg, "<circle"), 5u);
  EXPECT_EQ(count(svg, "fill='#222222'"), 2u);
  EXPECT_NE(svg.find("aria-label='accuracy'"), std::string::npos);
}

TEST(SvgChart, IntegerAxisHasNoFractionalTicks) {
  ChartSpec spec;
  spec.x_integer = true;
  spec.series.push_back(series("a", "#111111", {{1, 1}, {2, 2}}));
  const std::string svg = xy_chart_svg(spec);
  EXPECT_EQ(svg.find(">1.5<"), std::string::npos) << svg;
  EXPECT_NE(svg.find(">2<"), std::string::npos);
}

TEST(SvgChart, NoFinitePointsGivesAPlaceholder) {
  ChartSpec spec;
  spec.series.push_back(series("a", "#111111", {{1, std::nan("")}}));
  EXPECT_NE(xy_chart_svg(spec).find("no data"), std::string::npos);
}

TEST(SvgChart, StandaloneFileCarriesItsStyleAndTheLegend) {
  ChartSpec spec;
  spec.legend = true;
  spec.series.push_back(series("first run", "#111111", {{0, 1}, {1, 2}}));
  const std::string svg = standalone_svg(xy_chart_svg(spec));
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("xmlns='http://www.w3.org/2000/svg'"), std::string::npos);
  EXPECT_NE(svg.find("<style>"), std::string::npos);
  EXPECT_NE(svg.find(">first run</text>"), std::string::npos);
}

// The labels of a Pareto front (blpa's page: two points close together, one at the right edge, long
// names) stay inside the chart and do not overprint each other. Boxes are estimated as the chart does
// (6.8 units a character, 13 high), which Chromium's rendering of docs/results/blpa/compare-pareto.svg
// bears out.
TEST(SvgChart, PointLabelsStayInsideAndApart) {
  ChartSpec spec;
  ChartSeries front = series("Pareto front", "#111111", {{13.5, 76.9}, {15.6, 79.3}, {17.5, 79.9}, {35.1, 80.3}});
  front.point_labels = {"mode=quantized bits=2", "mode=quantized bits=4", "mode=quantized bits=8", "mode=exact hidden=[64,64]"};
  spec.series.push_back(front);
  spec.x_from_zero = true;
  const std::string svg = xy_chart_svg(spec);
  struct Box {
    double x0, y0, x1, y1;
  };
  std::vector<Box> boxes;
  for (size_t at = svg.find("<text class='mark'"); at != std::string::npos; at = svg.find("<text class='mark'", at + 1)) {
    double x = 0, y = 0;
    char anchor[8] = {};
    ASSERT_EQ(std::sscanf(svg.c_str() + at, "<text class='mark' x='%lf' y='%lf' text-anchor='%7[a-z]'", &x, &y, anchor), 3)
        << svg.substr(at, 80);
    const size_t open = svg.find('>', at), close = svg.find("</text>", open);
    const double w = 6.8 * static_cast<double>(close - open - 1);
    const Box b = std::string(anchor) == "end" ? Box{x - w, y - 10, x, y + 3} : Box{x, y - 10, x + w, y + 3};
    EXPECT_GE(b.x0, 0) << svg.substr(at, close - at);
    EXPECT_LE(b.x1, spec.width) << svg.substr(at, close - at);
    for (const Box& o : boxes)
      EXPECT_FALSE(b.x0 < o.x1 && o.x0 < b.x1 && b.y0 < o.y1 && o.y0 < b.y1) << svg.substr(at, close - at);
    boxes.push_back(b);
  }
  EXPECT_EQ(boxes.size(), 4u);
}

TEST(MemoryReportJson, ReadsBackWhatWasWritten) {
  const StepDescription step = training_like_step(3, 8);
  auto planner = make_planner("static");
  planner->plan(step);
  replay_step(*planner, step);
  const MemoryReport r = build_memory_report(step, *planner, {}, {{"batch_size", 32}});
  const nlohmann::json j = memory_report_json(r);
  const MemoryReport back = memory_report_from_json(j);
  EXPECT_EQ(memory_report_json(back), j);
  EXPECT_EQ(memory_report_sections_html(back), memory_report_sections_html(r));
}

}  // namespace
}  // namespace frugal
