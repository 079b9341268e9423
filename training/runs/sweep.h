// `frugal sweep`: one training run per point of a grid, each in its own run directory under the sweep
// directory, with an index (sweep.json) that `frugal compare` reads.
//
//   sweep/                    sweep.json   the base config, the grid, each run's folder, label, overrides,
//     00_bits=2/ ...                       config hash and last status
//     01_bits=4/ ...          a run directory as `frugal train` writes it, plus output.txt (its console)
//     compare.md, compare.html, compare-*.svg   written when the sweep ends
//
// Running the same sweep again resumes it: a run whose summary.json says it ended by itself is done and
// skipped, a run with a checkpoint (checkpoints/step-N, also after SIGINT/SIGTERM stopped it) continues
// from the newest (`frugal train --resume`, bit-identical to an uninterrupted run), any other starts
// afresh. A sweep directory holding a different sweep (another grid or changed configs) is
// refused. One sweep at a time per directory (an flock on sweep.lock, held by the runs too).
#pragma once
#include <string>
#include <vector>

#include "training/runs/sweep_grid.h"

namespace frugal {

struct SweepOptions {
  std::string config_file;
  std::vector<std::string> sets;  // --set overrides applied to every run, before the grid's
  std::vector<GridAxis> grid;
  std::string dir;            // the sweep directory; "" = runs/<name>-sweep
  int jobs = 1;               // runs at once
  std::string frugal_binary;  // the executable that trains each run
};

// Runs (or resumes) the sweep. Returns 0 when every run completed, else the exit code of the first run
// that failed (2 for a user error). Configs are resolved and validated before any run starts
// (ConfigError naming the grid point).
int run_sweep(const SweepOptions& opts);

}  // namespace frugal
