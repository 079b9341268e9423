// The memory of the whole process (docs/memory_budget.md, "The whole process"): memory.budget_mb is
// a budget for the process, not for the training step alone. Predicted before the first step, by part:
//   code_and_libraries  resident at start-up (the binary, shared libraries), plus library code first run
//                       later (kernels)
//   dataset             what the datasets hold (pixels as bytes, labels, file lists)
//   loader              the training and evaluation loaders' batch buffers and sample orders
//   training_step       the planned step (arena or planner peak) and what persists across steps
//                       (weights, gradients, optimizer and mode state)
//   evaluation          evaluation memory outside the training arena (0 when it runs inside it,
//                       training/arena_sharing.h)
//   blas_openmp         per compute thread: OpenBLAS's packing buffers and the OpenMP thread
//   rest                the allocator's own overhead and small objects
// and measured after the run: the peak resident set (VmHWM) and the parts that can be measured alone.
#pragma once
#include <cstddef>

#include <nlohmann/json.hpp>

#include "training/experiment.h"

namespace frugal {

struct ProcessMemory {
  size_t code_and_libraries = 0, dataset = 0, loader = 0, training_step = 0, evaluation = 0, blas_openmp = 0,
         rest = 0;
  size_t total() const {
    return code_and_libraries + dataset + loader + training_step + evaluation + blas_openmp + rest;
  }
  // Everything but the training step: what a step budget has to leave room for.
  size_t outside_step() const { return total() - training_step; }
  nlohmann::json json() const;
};

// The resident set now, and at start-up (recorded by the first call; frugal's main calls it first).
size_t resident_bytes();
size_t startup_resident_bytes();
// The environment variable through which a planner process is given its parent's start-up resident set.
inline constexpr const char* kStartupResidentEnv = "FRUGAL_PLAN_STARTUP_RESIDENT_BYTES";

// Before training: `batch` the training batch; plans the training step (and the evaluation) if needed.
ProcessMemory predict_process_memory(Experiment& e, int64_t batch);

// After a run (or some steps): the process section of memory.json, {"predicted": {...}, "measured":
// {"peak_rss_bytes", parts measured alone, "unattributed_bytes"}, "measured_over_predicted"}.
nlohmann::json process_memory_section(Experiment& e, const ProcessMemory& predicted, bool measured);

// memory.budget_mb, and the machine's RAM plus swap, against the predicted process peak:
// MemoryBudgetError naming the parts and the largest buffers of the training step at its peak.
void check_process_budget(Experiment& e, const ProcessMemory& predicted);

}  // namespace frugal
