// The data-parallel side of one training run (docs/distributed.md): the communicator, the options of the
// config's "distributed" section, the flat parameter layout, and the collectives the trainer, the
// checkpoints and the memory report need beyond the step itself. Every rank calls every method in the
// same order (they are collectives), unless a method says otherwise.
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "ops/replica_sum.h"
#include "training/distributed/communicator.h"
#include "training/distributed/flat_parameters.h"
#include "training/graph.h"

namespace frugal {

struct DistributedOptions {
  bool sync_batchnorm = false;
  bool shard_optimizer_state = false;  // ZeRO-1
  bool shard_gradients = false;        // ZeRO-2 (requires shard_optimizer_state)
  double bucket_mb = 0.25;
  double timeout_s = 300;
};

// The "distributed" section of a resolved config. ConfigError naming the key for shard_gradients
// without shard_optimizer_state.
DistributedOptions distributed_options(const nlohmann::json& config);

// Communication of the gradient channel, summed over steps: how long it was busy, how much of that ran
// while the step's backward pass was still running, and how long the training thread waited for it.
struct CommunicationStats {
  int64_t steps = 0;
  double busy_seconds = 0, overlapped_seconds = 0, waited_seconds = 0;
};

// " | comm 3.1 ms/step, 78% during the backward, 0.7 ms waited" (progress lines) and the same as JSON
// (summary.json: seconds per step and the overlapped fraction).
std::string communication_summary(const CommunicationStats& s);
nlohmann::json communication_json(const CommunicationStats& s);

// ConfigError naming the ranks whose resolved config differs from rank 0's (a collective).
void check_same_config(Communicator& comm, const nlohmann::json& config);

class DataParallel final : public ReplicaSum {
 public:
  // `comm` must outlive this object.
  DataParallel(Communicator& comm, DistributedOptions options) : comm_(comm), options_(options) {}

  Communicator& comm() { return comm_; }
  int rank() const { return comm_.rank(); }
  int size() const { return comm_.size(); }
  const DistributedOptions& options() const { return options_; }
  // Rank 0 alone writes the run directory. Not a collective.
  bool writes_files() const { return comm_.rank() == 0; }

  void set_flat(std::unique_ptr<FlatParameters> flat) { flat_ = std::move(flat); }
  FlatParameters& flat() { return *flat_; }

  // The samples of the coming step over all ranks (Batch::global_size), set by the trainer before each
  // step: a rank's gradient weighs in by its share. Not a collective.
  void set_global_batch(int64_t samples) { global_batch_ = samples; }
  int64_t global_batch() const { return global_batch_; }

  // The seed that keys this rank's step randomness (dropout masks, probes): rank 0 keeps the run's seed,
  // so one rank draws what a single process draws; the others draw their own. Not a collective.
  uint64_t step_seed(uint64_t seed) const;

  CommunicationStats& stats() { return stats_; }

  // Sums `n` values over the ranks (in rank order: the same result everywhere). Also what BatchNorm calls
  // for global statistics (ops/replica_sum.h).
  void sum(double* values, int64_t n, const std::string& what) override { comm_.all_reduce_sum(values, n, what); }
  // Copies rank 0's non-trainable buffers (BatchNorm running statistics) to every rank: what rank 0
  // tracked is what evaluation and checkpoints use, as PyTorch's DDP broadcasts its buffers.
  void share_buffers_from_rank0(Graph& graph);
  // InternalError naming the ranks when the tensors (e.g. the initial weights, the feedback matrices)
  // are not bit-identical on every rank.
  void check_identical(const std::vector<std::pair<std::string, Tensor>>& tensors, const std::string& what);
  // Gathers one number per rank (e.g. its peak memory) to every rank.
  std::vector<double> gather_per_rank(double value, const std::string& what);

 private:
  Communicator& comm_;
  DistributedOptions options_;
  std::unique_ptr<FlatParameters> flat_;
  int64_t global_batch_ = 0;
  CommunicationStats stats_;
};

}  // namespace frugal
