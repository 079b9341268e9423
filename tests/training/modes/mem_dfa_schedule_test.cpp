// MEM-DFA as the trainer's schedule: an experiment whose config selects mem_dfa steps through
// MemDfaSchedule with a per-layer optimizer, ends with dfa's weights and optimizer state bit for bit,
// and reports and budgets the MEM-DFA step's memory, not the executor's.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "core/error.h"
#include "tests/training/modes/feedback_test_util.h"
#include "training/config/frugal_schema.h"
#include "training/memory_accounting.h"
#include "training/process_memory.h"

namespace frugal {
namespace {

namespace fs = std::filesystem;
using feedback_test::values_of;

// A synthetic-data MLP (dropout, so the replayed masks matter) with `hidden` layers of width 32.
nlohmann::json experiment_config(const std::string& mode, const std::string& optimizer, int hidden) {
  nlohmann::json c = {
      {"name", "mem_dfa_schedule"},
      {"seed", 5},
      {"threads", 1},
      {"data",
       {{"dataset", "synthetic"},
        {"batch_size", 16},
        {"normalize", {{"mean", {0.5}}, {"std", {0.2}}}},
        {"synthetic", {{"shape", {1, 6, 6}}, {"classes", 4}, {"train_size", 64}, {"test_size", 32}}}}},
      {"model", {{"arch", "mlp"}, {"hidden", std::vector<int>(hidden, 32)}, {"dropout", 0.2}}},
      {"backward", {{"default", {{"mode", mode}}}}},
      {"optimizer", {{"name", optimizer}, {"lr", 0.05}, {"weight_decay", 1e-3}}},
      {"schedule", {{"name", "cosine"}}},
      {"train", {{"epochs", 2}}}};
  const fs::path file = fs::temp_directory_path() / ("frugal_mem_dfa_schedule_" + std::to_string(::getpid()) + ".json");
  std::ofstream(file) << c.dump();
  nlohmann::json resolved = load_frugal_config(file.string());
  fs::remove(file);
  return resolved;
}

std::map<std::string, std::vector<char>> bytes_of(const NamedTensors& state) {
  std::map<std::string, std::vector<char>> out;
  for (const auto& [name, t] : state) {
    const char* p = static_cast<const char*>(t.raw());
    out[name] = std::vector<char>(p, p + t.nbytes());
  }
  return out;
}

bool runs_mem_dfa(const Experiment& e) {
  return e.step_schedule && std::string(e.step_schedule->name()) == "mem_dfa";
}

void train(Experiment& e, int steps) {
  Loader loader(*e.train_data, train_loader_options(e.config));
  loader.start_epoch(0);
  Batch b;
  for (int s = 0; s < steps; ++s) {
    if (!loader.next(b)) loader.start_epoch(1), loader.next(b);
    e.step_schedule->train_step(b.images, b.labels, static_cast<uint64_t>(s), e.config.at("seed").get<uint64_t>(),
                                e.schedule->lr_at(s));
  }
}

TEST(MemDfaSchedule, OnlyAMemDfaConfigRunsIt) {
  EXPECT_TRUE(runs_mem_dfa(build_experiment(experiment_config("mem_dfa", "sgd", 2), ExperimentUse::Train)));
  EXPECT_FALSE(runs_mem_dfa(build_experiment(experiment_config("dfa", "sgd", 2), ExperimentUse::Train)));
  EXPECT_FALSE(runs_mem_dfa(build_experiment(experiment_config("mem_dfa", "sgd", 2), ExperimentUse::Evaluate)));
}

// Per-layer updates inside the second pass must equal one optimizer step after dfa's backward, for an
// optimizer with a step count (AdamW's bias correction) as for one without.
TEST(MemDfaSchedule, TrainsDfasWeightsAndOptimizerStateBitForBit) {
  for (const char* optimizer : {"sgd", "adamw"}) {
    Experiment dfa = build_experiment(experiment_config("dfa", optimizer, 3), ExperimentUse::Train);
    Experiment mem = build_experiment(experiment_config("mem_dfa", optimizer, 3), ExperimentUse::Train);
    const auto initial = values_of(*mem.graph);
    train(dfa, 6);
    train(mem, 6);
    EXPECT_EQ(values_of(*mem.graph), values_of(*dfa.graph)) << optimizer;
    EXPECT_NE(values_of(*mem.graph), initial) << optimizer;
    EXPECT_EQ(bytes_of(mem.optimizer->state()), bytes_of(dfa.optimizer->state())) << optimizer;
    EXPECT_EQ(mem.optimizer->steps_taken(), 6) << optimizer;
  }
}

// A checkpoint of either schedule loads into the other: same entries, same single "step".
TEST(MemDfaSchedule, PerLayerOptimizerStateLoadsLikeOneOptimizers) {
  Experiment dfa = build_experiment(experiment_config("dfa", "adamw", 2), ExperimentUse::Train);
  Experiment mem = build_experiment(experiment_config("mem_dfa", "adamw", 2), ExperimentUse::Train);
  train(dfa, 3);
  mem.optimizer->load_state(dfa.optimizer->state());
  EXPECT_EQ(bytes_of(mem.optimizer->state()), bytes_of(dfa.optimizer->state()));
  EXPECT_EQ(mem.optimizer->steps_taken(), 3);

  NamedTensors extra = dfa.optimizer->state();
  extra.emplace_back("ghost.weight.exp_avg", Tensor::zeros({2}));
  try {
    mem.optimizer->load_state(extra);
    FAIL() << "an unexpected entry was accepted";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("'ghost.weight.exp_avg'"), std::string::npos) << e.what();
  }
  NamedTensors missing = dfa.optimizer->state();
  missing.erase(missing.begin());
  EXPECT_THROW(mem.optimizer->load_state(missing), DataError);
}

// On a deeper MLP, dfa keeps every block's activations until its backward; MEM-DFA a few layers' worth.
TEST(MemDfaSchedule, MemoryReportAndBudgetUseTheMemDfaStep) {
  const int64_t batch = 16;
  Experiment dfa = build_experiment(experiment_config("dfa", "sgd", 12), ExperimentUse::Train);
  Experiment mem = build_experiment(experiment_config("mem_dfa", "sgd", 12), ExperimentUse::Train);
  MemoryReport dfa_report = training_memory_report(dfa, batch);
  MemoryReport mem_report = training_memory_report(mem, batch);
  EXPECT_EQ(mem_report.extra.at("schedule"), "mem_dfa");
  EXPECT_EQ(mem_report.extra.at("parameters"), dfa_report.extra.at("parameters"));
  const size_t layer_buffer = 32 * batch * sizeof(float);
  EXPECT_LT(mem_report.peak_bytes + 8 * layer_buffer, dfa_report.peak_bytes);
  EXPECT_EQ(mem.executor->planner_system_allocations(), 0u) << "the executor planned (and holds) dfa's step";

  // memory.budget_mb is for the whole process (training/process_memory.h): each gets the same step
  // budget, between the two steps, on top of the rest of its process.
  const double between = (mem_report.peak_bytes + dfa_report.peak_bytes) / 2.0;
  for (Experiment* e : {&dfa, &mem})
    e->config["memory"]["budget_mb"] = (predict_process_memory(*e, batch).outside_step() + between) / 1048576.0;
  EXPECT_NO_THROW(check_training_budget(mem, batch));
  EXPECT_THROW(check_training_budget(dfa, batch), MemoryBudgetError);
}

}  // namespace
}  // namespace frugal
