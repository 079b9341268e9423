// A run's report.html: its headline numbers and learning curves (accuracy and loss per epoch, train and
// test) beside the memory report of its training step (memory.json, drawn as memory.html draws it).
#pragma once
#include <string>

#include "training/runs/run_record.h"

namespace frugal {

std::string run_report_html(const RunRecord& run);

// Reads `run_dir` and writes run_dir/report.html atomically.
void write_run_report(const std::string& run_dir);

}  // namespace frugal
