// The data-parallel schedules in one process (training/distributed/): with a single-process communicator
// the bucketed layout, the bucket reductions and the sharded optimizer change no value, so the weights
// and optimizer state are those of the single-process schedules bit for bit, for the plain step and for
// MEM-DFA. The multi-rank behaviour is tested end to end under mpirun (tests/e2e/distributed_*).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "training/config/frugal_schema.h"
#include "training/distributed/data_parallel.h"
#include "training/distributed/single_process_communicator.h"
#include "training/experiment.h"

namespace frugal {
namespace {

namespace fs = std::filesystem;

nlohmann::json experiment_config(const std::string& mode, const std::string& optimizer, bool shard) {
  nlohmann::json c = {
      {"name", "dp_schedule"},
      {"seed", 9},
      {"threads", 1},
      {"data",
       {{"dataset", "synthetic"},
        {"batch_size", 16},
        {"synthetic", {{"shape", {1, 6, 6}}, {"classes", 4}, {"train_size", 64}, {"test_size", 32}}}}},
      {"model", {{"arch", "mlp"}, {"hidden", {32, 32}}, {"dropout", 0.2}}},
      {"backward", {{"default", {{"mode", mode}}}}},
      {"optimizer", {{"name", optimizer}, {"lr", 0.05}, {"weight_decay", 1e-3}}},
      {"distributed", {{"shard_optimizer_state", shard}, {"shard_gradients", shard}, {"bucket_mb", 0.001}}}};
  const fs::path file = fs::temp_directory_path() / ("frugal_dp_schedule_" + std::to_string(::getpid()) + ".json");
  std::ofstream(file) << c.dump();
  nlohmann::json resolved = load_frugal_config(file.string());
  fs::remove(file);
  return resolved;
}

void train(Experiment& e, int steps) {
  Loader loader(*e.train_data, train_loader_options(e.config));
  loader.start_epoch(0);
  Batch b;
  for (int s = 0; s < steps; ++s) {
    if (!loader.next(b)) loader.start_epoch(1), loader.next(b);
    e.step_schedule->train_step(b.images, b.labels, static_cast<uint64_t>(s), 9, 0.05f);
  }
}

std::map<std::string, std::vector<char>> bytes_of(const NamedTensors& state) {
  std::map<std::string, std::vector<char>> out;
  for (const auto& [name, t] : state) {
    const char* p = static_cast<const char*>(t.raw());
    out[name] = std::vector<char>(p, p + t.nbytes());
  }
  return out;
}

NamedTensors weights_of(Graph& g) {
  NamedTensors out;
  for (Parameter* p : g.parameters()) out.emplace_back(p->name, p->value);
  return out;
}

TEST(DataParallelSchedule, OneRankGivesTheSingleProcessWeightsAndState) {
  for (const char* mode : {"exact", "mem_dfa"})
    for (const char* optimizer : {"sgd", "adamw"})
      for (bool shard : {false, true}) {
        const std::string what = std::string(mode) + " " + optimizer + (shard ? " sharded" : "");
        Experiment alone = build_experiment(experiment_config(mode, optimizer, shard), ExperimentUse::Train);
        SingleProcessCommunicator comm;
        Experiment dp = build_experiment(experiment_config(mode, optimizer, shard), ExperimentUse::Train, &comm);
        ASSERT_TRUE(dp.data_parallel) << what;
        EXPECT_GT(dp.data_parallel->flat().buckets().size(), 1u) << what;
        train(alone, 6);
        train(dp, 6);
        EXPECT_EQ(bytes_of(weights_of(*dp.graph)), bytes_of(weights_of(*alone.graph))) << what;
        EXPECT_EQ(bytes_of(dp.optimizer->state()), bytes_of(alone.optimizer->state())) << what;
        EXPECT_EQ(dp.data_parallel->stats().steps, 6) << what;
      }
}

}  // namespace
}  // namespace frugal
