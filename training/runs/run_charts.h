// The charts drawn over runs: learning curves (compare.html and each run's report.html), accuracy
// against peak memory with the Pareto front, step time against memory (compare.html).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "memory/svg_chart.h"
#include "training/runs/run_record.h"

namespace frugal {

// Indices of the points not dominated when less x (memory) and more y (accuracy) are better: no other
// point has x <= and y >= with one of them strict. Sorted by x. Duplicates are all on the front.
std::vector<size_t> pareto_front(const std::vector<std::pair<double, double>>& xy);

// One line per run of a metrics.jsonl key against the epoch; `percent` scales fractions to %.
ChartSpec epoch_curve_chart(const std::vector<RunRecord>& runs, const std::string& key, const std::string& title,
                            const std::string& y_label, bool percent);
// Final test accuracy (%) against peak planned memory (MiB), one point per run in its colour, the
// Pareto front joined by a dashed line and its points labelled.
ChartSpec accuracy_memory_chart(const std::vector<RunRecord>& runs);
// Training time per step (ms) against peak planned memory (MiB).
ChartSpec step_time_memory_chart(const std::vector<RunRecord>& runs);

}  // namespace frugal
