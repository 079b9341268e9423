// Training on the GPU end to end: batches staged to the device arrive intact, a steady-state step
// performs no cudaMalloc, the memory report's planned device bytes are what the allocator handed out,
// and a run resumed from a checkpoint ends in the same bits as the uninterrupted one. Skipped, by name,
// where no GPU is visible.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/cuda/cuda_test_util.h"
#include "tests/cuda/network_cuda_test_util.h"
#include "training/batch_stager.h"
#include "training/experiment.h"
#include "training/memory_accounting.h"
#include "training/trainer.h"

namespace frugal {
namespace {

namespace fs = std::filesystem;
using testing::network_config;
using testing::same_bits;

const nlohmann::json kExact = {{"mode", "exact"}};

TEST(CudaBatchStager, StagedBatchesAreTheLoadersIncludingAShortLastOne) {
  FRUGAL_REQUIRE_GPU(cuda);
  nlohmann::json config = network_config("cnn", kExact, "cuda", 8);
  config["data"]["synthetic"]["train_size"] = 29;  // 3 full batches and one of 5
  auto data = open_dataset(dataset_options(config, Split::Train), Split::Train);
  LoaderOptions lo = train_loader_options(config);
  lo.drop_last = false;
  Loader direct(*data, lo), staged(*data, lo);
  BatchStager stager(staged, Device::CUDA);
  for (int64_t epoch = 0; epoch < 2; ++epoch) {  // the second epoch reuses the slots
    direct.start_epoch(epoch);
    stager.start_epoch(epoch);
    Batch want, got;
    int64_t batches = 0;
    while (direct.next(want)) {
      ASSERT_TRUE(stager.next(got)) << "epoch " << epoch << " batch " << batches;
      EXPECT_EQ(got.images.device(), Device::CUDA);
      EXPECT_EQ(got.size, want.size);
      EXPECT_TRUE(same_bits(got.images, want.images)) << "epoch " << epoch << " batch " << batches;
      EXPECT_TRUE(same_bits(got.labels, want.labels)) << "epoch " << epoch << " batch " << batches;
      ++batches;
    }
    EXPECT_FALSE(stager.next(got));
    EXPECT_EQ(batches, 4);
  }
  EXPECT_GT(stager.device_bytes(), 0u);
  EXPECT_GT(stager.pinned_bytes(), 0u);
}

struct SteadyCase {
  std::string model, planner;
  nlohmann::json mode;
  std::string name;
};
// Names the case in test listings (ctest shows the parameter of each test).
void PrintTo(const SteadyCase& c, std::ostream* os) { *os << c.name; }

class CudaSteadyState : public ::testing::TestWithParam<SteadyCase> {};

// The trainer's loop (loader, stager, step schedule): everything a step needs on the device is
// allocated in the first step (arena, mode scratch, staging slots), none of it after.
TEST_P(CudaSteadyState, NoCudaMallocAfterTheFirstStep) {
  FRUGAL_REQUIRE_GPU(cuda);
  const SteadyCase& c = GetParam();
  nlohmann::json config = network_config(c.model, c.mode, "cuda", 8);
  config["memory"]["planner"] = c.planner;
  Experiment e = build_experiment(config, ExperimentUse::Train);
  Loader loader(*e.train_data, train_loader_options(config));
  BatchStager stager(loader, Device::CUDA);
  DeviceRuntime& device = device_runtime(Device::CUDA);
  stager.start_epoch(0);
  uint64_t after_first = 0;
  Batch b;
  for (uint64_t step = 0; stager.next(b); ++step) {
    e.step_schedule->train_step(b.images, b.labels, step, 11, 0.05f);
    if (step == 0) after_first = device.memory_stats().allocations;
  }
  device.synchronize();
  EXPECT_EQ(device.memory_stats().allocations, after_first) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Planners, CudaSteadyState,
    ::testing::Values(SteadyCase{"resnet20", "static", kExact, "resnet20_static_exact"},
                      SteadyCase{"resnet20", "pool", kExact, "resnet20_pool_exact"},
                      SteadyCase{"cnn", "static", {{"mode", "quantized"}, {"bits", 4}}, "cnn_static_quantized4"},
                      SteadyCase{"cnn", "static", {{"mode", "randomized_trace"}, {"probes", 4}},
                                 "cnn_static_randomized_trace"},
                      SteadyCase{"mlp", "static", {{"mode", "outer_product"}, {"k_fraction", 0.5}},
                                 "mlp_static_outer_product"},
                      SteadyCase{"mlp", "static", {{"mode", "mem_dfa"}}, "mlp_static_mem_dfa"}),
    [](const ::testing::TestParamInfo<SteadyCase>& info) { return info.param.name; });

// With the static planner and exact backprop every device byte of a run is planned: the arena, the
// persistent buffers and the staging slots are exactly what the allocator handed out since the
// experiment was built. The runtime's own bytes are reported apart, and the driver saw at least both.
TEST(CudaMemoryReport, PlannedDeviceBytesAreTheAllocatorsBytes) {
  FRUGAL_REQUIRE_GPU(cuda);
  for (const std::string model : {"mlp", "cnn", "resnet20"}) {
    DeviceRuntime& device = device_runtime(Device::CUDA);
    const size_t before = device.memory_stats().allocated_bytes;  // whatever earlier tests left live
    nlohmann::json config = network_config(model, kExact, "cuda", 8);
    Experiment e = build_experiment(config, ExperimentUse::Train);
    Loader loader(*e.train_data, train_loader_options(config));
    BatchStager stager(loader, Device::CUDA);
    stager.start_epoch(0);
    Batch b;
    ASSERT_TRUE(stager.next(b));
    e.step_schedule->train_step(b.images, b.labels, 0, 11, 0.05f);
    const MemoryReport report = training_memory_report(e, 8, {}, stager.device_bytes());
    ASSERT_TRUE(report.device.present);
    const DeviceMemoryStats& s = report.device.stats;
    EXPECT_EQ(s.allocated_bytes - before, report.device.planned_bytes) << model;
    bool has_cublas_workspace = false;
    for (const auto& [part, bytes] : s.runtime_parts) has_cublas_workspace |= part == "cuBLAS workspace" && bytes > 0;
    EXPECT_TRUE(has_cublas_workspace) << model;
    EXPECT_GE(s.peak_used_bytes, s.allocated_bytes + s.scratch_bytes) << model;
    EXPECT_LE(s.peak_used_bytes, s.total_bytes) << model;
    const nlohmann::json j = memory_report_json(report);
    EXPECT_EQ(j.at("device").at("planned_bytes"), report.device.planned_bytes);
  }
}

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// As tests/e2e's CPU resume test: the run stopped by a step budget in the middle of epoch 1 and resumed
// from its checkpoint ends where the straight run ends, bit for bit (weights, optimizer and mode state).
TEST(CudaTraining, ResumedRunEqualsTheUninterruptedOne) {
  FRUGAL_REQUIRE_GPU(cuda);
  const fs::path root = fs::temp_directory_path() / ("frugal_cuda_resume_" + std::to_string(::getpid()));
  fs::remove_all(root);
  for (const nlohmann::json& mode : {kExact, nlohmann::json{{"mode", "outer_product"}, {"k_fraction", 0.5}}}) {
    nlohmann::json config = network_config("cnn", mode, "cuda", 8);  // 4 steps an epoch, 2 epochs
    TrainOptions straight, split;
    straight.run_dir = (root / "straight").string();
    split.run_dir = (root / "split").string();
    run_training(config, straight);
    nlohmann::json stopped = config;
    stopped["train"]["max_steps"] = 5;
    run_training(stopped, split);
    split.resume = true;
    run_training(config, split);
    for (const char* file : {"model.safetensors", "optimizer.safetensors"})
      EXPECT_TRUE(file_bytes(root / "straight/checkpoint" / file) == file_bytes(root / "split/checkpoint" / file))
          << mode.dump() << " " << file;
    fs::remove_all(root);
  }
}

}  // namespace
}  // namespace frugal
