// frugal compare DIR... [--output DIR]: a table of runs (Markdown on stdout and compare.md) and
// compare.html with plots; DIR is a run directory, a sweep directory or a folder of run directories.
#include <iostream>

#include "cli/commands.h"
#include "core/error.h"
#include "core/io/output_paths.h"
#include "core/log.h"
#include "training/runs/compare_report.h"
#include "training/runs/run_report.h"

namespace frugal::cli {

Action add_compare_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("compare", "compare runs and sweeps: a table and plots (compare.md, compare.html)");
  struct Args {
    std::vector<std::string> dirs;
    std::string output;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("dirs", args->dirs, "run directories, sweep directories or folders of runs")->required();
  cmd->add_option("--output,-o", args->output,
                  "where compare.md and compare.html go (default: the sweep directory when given one, else .)");
  return [cmd, args]() {
    if (!cmd->parsed()) return -1;
    std::vector<RunRecord> runs = collect_runs(args->dirs);
    std::string out = args->output;
    if (out.empty()) out = args->dirs.size() == 1 && is_sweep_dir(args->dirs[0]) ? args->dirs[0] : ".";
    check_output_file(out + "/compare.md");
    // Runs written before report.html existed get one; a read-only run directory is not an error.
    for (const RunRecord& r : runs) {
      if (r.epochs.empty()) continue;
      try {
        write_run_report(r.dir);
      } catch (const IoError& e) {
        log().warn("no report.html for {}: {}", r.dir, e.what());
      }
    }
    write_comparison(runs, out);
    std::cout << compare_markdown(runs) << "\nwritten: " << out << "/compare.md, " << out << "/compare.html\n";
    return 0;
  };
}

}  // namespace frugal::cli
