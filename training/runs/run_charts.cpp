#include "training/runs/run_charts.h"

#include <algorithm>
#include <numeric>

namespace frugal {
namespace {

// Memory axes in MiB, or KiB when every run is below 1 MiB (tiny test models).
struct MemoryUnit {
  double bytes;
  const char* name;
};

MemoryUnit memory_unit(const std::vector<RunRecord>& runs) {
  double most = 0;
  for (const RunRecord& r : runs) most = std::max(most, r.peak_planned_bytes().value_or(0));
  return most >= 1024.0 * 1024.0 ? MemoryUnit{1024.0 * 1024.0, "MiB"} : MemoryUnit{1024.0, "KiB"};
}

// (x, y) of each run that has both values; `which` maps the kept points back to runs.
template <typename X, typename Y>
std::vector<std::pair<double, double>> run_points(const std::vector<RunRecord>& runs, X x, Y y,
                                                  std::vector<size_t>* which) {
  std::vector<std::pair<double, double>> points;
  for (size_t i = 0; i < runs.size(); ++i) {
    auto xv = x(runs[i]);
    auto yv = y(runs[i]);
    if (!xv || !yv) continue;
    points.emplace_back(*xv, *yv);
    which->push_back(i);
  }
  return points;
}

auto peak_in(MemoryUnit unit) {
  return [unit](const RunRecord& r) -> std::optional<double> {
    auto v = r.peak_planned_bytes();
    if (!v) return std::nullopt;
    return *v / unit.bytes;
  };
}

// One series per run holding its single point, so every run keeps its colour and legend entry.
ChartSpec scatter(const std::vector<RunRecord>& runs, const std::vector<std::pair<double, double>>& points,
                  const std::vector<size_t>& which, ChartSpec spec) {
  for (size_t k = 0; k < points.size(); ++k) {
    ChartSeries s;
    s.name = runs[which[k]].label;
    s.color = series_color(which[k]);
    s.points = {points[k]};
    s.line = false;
    s.marker_radius = 4.5;
    spec.series.push_back(std::move(s));
  }
  return spec;
}

}  // namespace

std::vector<size_t> pareto_front(const std::vector<std::pair<double, double>>& xy) {
  std::vector<size_t> front;
  for (size_t i = 0; i < xy.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < xy.size() && !dominated; ++j)
      dominated = xy[j].first <= xy[i].first && xy[j].second >= xy[i].second &&
                  (xy[j].first < xy[i].first || xy[j].second > xy[i].second);
    if (!dominated) front.push_back(i);
  }
  std::stable_sort(front.begin(), front.end(), [&](size_t a, size_t b) { return xy[a].first < xy[b].first; });
  return front;
}

ChartSpec epoch_curve_chart(const std::vector<RunRecord>& runs, const std::string& key, const std::string& title,
                            const std::string& y_label, bool percent) {
  ChartSpec spec;
  spec.title = title;
  spec.x_integer = true;
  spec.x_label = "epoch";
  spec.y_label = y_label;
  for (size_t i = 0; i < runs.size(); ++i) {
    ChartSeries s;
    s.name = runs[i].label;
    s.color = series_color(i);
    s.points = runs[i].curve(key);
    if (percent)
      for (auto& p : s.points) p.second *= 100;
    spec.series.push_back(std::move(s));
  }
  return spec;
}

ChartSpec accuracy_memory_chart(const std::vector<RunRecord>& runs) {
  const MemoryUnit unit = memory_unit(runs);
  std::vector<size_t> which;
  auto points = run_points(runs, peak_in(unit), [](const RunRecord& r) {
    auto a = r.final_test_accuracy();
    return a ? std::optional<double>(*a * 100) : std::nullopt;
  }, &which);
  ChartSpec spec;
  spec.title = "Final test accuracy against peak memory";
  spec.x_label = std::string("peak planned memory of a training step (") + unit.name + "), dashed: Pareto front";
  spec.y_label = "test accuracy (%)";
  spec.x_from_zero = true;
  // The front first, so the run points draw over it.
  ChartSeries front;
  front.name = "Pareto front";
  front.color = "#1f2430";
  front.dashed = true;
  front.markers = false;
  for (size_t k : pareto_front(points)) {
    front.points.push_back(points[k]);
    front.point_labels.push_back(runs[which[k]].label);
  }
  spec.series.push_back(front);
  ChartSpec runs_spec = scatter(runs, points, which, {});
  for (auto& s : runs_spec.series) spec.series.push_back(std::move(s));
  return spec;
}

ChartSpec step_time_memory_chart(const std::vector<RunRecord>& runs) {
  const MemoryUnit unit = memory_unit(runs);
  std::vector<size_t> which;
  auto points = run_points(runs, peak_in(unit), [](const RunRecord& r) {
    auto s = r.step_seconds();
    return s ? std::optional<double>(*s * 1000) : std::nullopt;
  }, &which);
  ChartSpec spec;
  spec.title = "Training step time against peak memory";
  spec.x_label = std::string("peak planned memory of a training step (") + unit.name + ")";
  spec.y_label = "time per step (ms)";
  spec.x_from_zero = true;
  spec.y_from_zero = true;
  return scatter(runs, points, which, spec);
}

}  // namespace frugal
