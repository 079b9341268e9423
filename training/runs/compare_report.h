// `frugal compare`: one table of runs (Markdown for the terminal and compare.md, HTML in compare.html)
// and the plots of compare.html, which also go out as standalone .svg files for Markdown pages.
#pragma once
#include <string>
#include <vector>

#include "training/runs/run_record.h"

namespace frugal {

// | run | status | epochs | final acc | best acc | peak planned | stash | peak RSS | img/s | step | wall |
// backward modes |, one row per run; "–" where a run lacks the number.
std::string compare_markdown(const std::vector<RunRecord>& runs);

// The self-contained page: the table (run names link to each run's report.html), test accuracy and
// loss per epoch, accuracy against peak memory with the Pareto front, step time against memory.
// `out_dir` is where the page goes (links are relative to it).
std::string compare_html(const std::vector<RunRecord>& runs, const std::string& out_dir);

// Writes compare.md, compare.html and compare-{accuracy,loss,pareto,step-time}.svg into out_dir
// (created if missing), each atomically.
void write_comparison(const std::vector<RunRecord>& runs, const std::string& out_dir);

}  // namespace frugal
