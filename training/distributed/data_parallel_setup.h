// Turns an experiment built for one process into its data-parallel form (docs/distributed.md).
#pragma once
#include "training/distributed/communicator.h"
#include "training/experiment.h"

namespace frugal {

// Sets e.data_parallel, e.optimizer and e.step_schedule for training over `comm`'s ranks: lays the
// parameters out in buckets (FlatParameters), builds the optimizer over this rank's shard when the
// state is sharded, routes BatchNorm statistics over all ranks with distributed.sync_batchnorm, and
// checks that every rank starts from the same weights and per-layer mode state (feedback matrices).
// `e` must have been built for training, without a step schedule yet; `comm` must outlive it.
void make_data_parallel(Experiment& e, Communicator& comm);

}  // namespace frugal
