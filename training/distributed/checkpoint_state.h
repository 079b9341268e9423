// What a data-parallel run puts in optimizer.safetensors (training/checkpoint.h), so that a checkpoint is
// the same file whatever the rank count and sharding that wrote it: full-size optimizer state, gathered
// from the ranks' shards when the state is sharded, and the per-layer mode state. Mode state that
// differs between ranks (outer-product memories hold each rank's own samples) is saved once per rank:
// rank 0's under "mode.<name>" as a single process writes it, rank r's also under "mode.rank<r>.<name>".
#pragma once
#include <string>

#include "core/io/safetensors.h"
#include "training/experiment.h"

namespace frugal {

// A collective over e.data_parallel's ranks; the entries are complete on rank 0 only.
NamedTensors gather_optimizer_entries(Experiment& e);

// Loads this rank's part of the entries (its shard of each optimizer tensor, its own mode state).
// DataError naming `file` and the entry for missing or mismatched tensors.
void load_optimizer_entries(Experiment& e, const NamedTensors& entries, const std::string& file);

}  // namespace frugal
