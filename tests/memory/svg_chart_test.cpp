#include "memory/svg_chart.h"

#include <gtest/gtest.h>

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
