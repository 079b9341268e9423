#include "training/distributed/data_parallel_setup.h"

#include <algorithm>

#include "core/error.h"
#include "ops/norm.h"
#include "training/distributed/data_parallel.h"
#include "training/distributed/data_parallel_schedule.h"
#include "training/distributed/mem_dfa_data_parallel_schedule.h"
#include "training/optim/optimizer_factory.h"
#include "training/schedules/mem_dfa_schedule.h"

namespace frugal {

void make_data_parallel(Experiment& e, Communicator& comm) {
  const nlohmann::json& config = e.config;
  auto dp = std::make_unique<DataParallel>(comm, distributed_options(config));
  Graph& graph = *e.graph;
  if (comm.gradient_device() != graph.device())
    throw ConfigError(std::string("device '") + device_name(graph.device()) + "': the communicator (" +
                      comm.describe() + ") reduces gradients on the " + device_name(comm.gradient_device()));
  const int ranks = comm.size();
  const DistributedOptions& opts = dp->options();
  const int64_t batch = config.at("data").at("batch_size").get<int64_t>();

  if (opts.sync_batchnorm) {
    for (int i = 0; i < graph.size(); ++i)
      if (auto* bn = dynamic_cast<BatchNorm*>(&graph.layer(i))) bn->set_replica_sum(dp.get());
    // A folded ReLU's backward would recompute the BatchNorm's local statistics.
    e.executor->set_relu_folding(false);
  }

  // Slices of this rank's shard, or whole parameters, per node.
  auto slices_of = [&](FlatParameters& flat) {
    if (opts.shard_optimizer_state) return flat.shard_slices(comm.rank());
    std::vector<std::vector<ParameterSlice>> per_node(static_cast<size_t>(graph.size()));
    for (int i = 0; i < graph.size(); ++i)
      for (Parameter* p : graph.layer(i).parameters())
        if (p->trainable) per_node[static_cast<size_t>(i)].emplace_back(p);
    return per_node;
  };

  if (runs_mem_dfa(*e.executor)) {
    const std::string planner = config.at("memory").at("planner").get<std::string>();
    const float label_smoothing = config.at("train").at("label_smoothing").get<float>();
    auto schedule =
        std::make_unique<MemDfaDataParallelSchedule>(*e.executor, planner, e.num_classes, label_smoothing, *dp);
    // One bucket per block: a block's update waits for its own reduction only.
    dp->set_flat(std::make_unique<FlatParameters>(graph, schedule->block_groups(batch), 1, ranks, comm.rank(),
                                                  opts.shard_gradients));
    std::vector<std::unique_ptr<Optimizer>> layers;
    for (auto& slices : slices_of(dp->flat()))
      layers.push_back(slices.empty() ? nullptr : make_optimizer(config.at("optimizer"), std::move(slices)));
    auto per_layer = std::make_unique<PerLayerOptimizer>(std::move(layers));
    schedule->set_optimizer(*per_layer);
    e.optimizer = std::move(per_layer);
    e.step_schedule = std::move(schedule);
  } else {
    std::vector<std::vector<int>> backward_order;
    for (int i = graph.size() - 1; i >= 0; --i) backward_order.push_back({i});
    const auto bucket_elements = std::max<int64_t>(1, static_cast<int64_t>(opts.bucket_mb * 1048576.0 / sizeof(float)));
    // A Linear weight larger than a bucket is reduced in pieces of rows as its backward computes them
    // (flat_parameters.h), where its mode takes dW from the layer and no micro-batches add up gradients.
    const bool one_pass = config.at("train").at("micro_batches").get<int>() == 1;
    const SplitPredicate splittable = [&](int node, const Parameter& p) {
      auto* layer = dynamic_cast<WeightedLayer*>(&graph.layer(node));
      return one_pass && layer && layer->can_split_weight_gradient() && &layer->weight() == &p &&
             e.executor->mode(node).weight_gradient_by_layer(*layer);
    };
    dp->set_flat(std::make_unique<FlatParameters>(graph, backward_order, bucket_elements, ranks, comm.rank(),
                                                  opts.shard_gradients, splittable));
    std::vector<ParameterSlice> all;
    for (auto& slices : slices_of(dp->flat())) all.insert(all.end(), slices.begin(), slices.end());
    e.optimizer = make_optimizer(config.at("optimizer"), std::move(all));
    e.step_schedule = std::make_unique<DataParallelSchedule>(*e.executor, *e.optimizer, *dp);
  }

  // Every rank built its weights and feedback matrices from the same seed: check, rather than assume.
  // Modes size their state from the training batch: plan it first (the trainer plans it anyway).
  e.step_schedule->plan(batch);
  std::vector<std::pair<std::string, Tensor>> start = {{"all weights", dp->flat().weights()}};
  for (Parameter* p : graph.parameters())
    if (!p->trainable) start.emplace_back(p->name, p->value);
  for (int i = 0; i < graph.size(); ++i)
    for (Parameter* p : e.executor->mode(i).state()) start.emplace_back("mode state " + p->name, p->value);
  dp->check_identical(start, "start of training");
  e.data_parallel = std::move(dp);
}

}  // namespace frugal
