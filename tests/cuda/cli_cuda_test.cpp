// Every subcommand that builds a model runs with device "cuda": train, then eval of its checkpoint;
// profile and bench, whose memory numbers count device bytes as planned; step, against the CPU's step;
// gradcheck. The CLI is run as a user runs it (tests/e2e/cli_runner.h). Skipped, by name, where no GPU is
// visible.
#include <gtest/gtest.h>

#include "core/io/safetensors.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/cuda/network_cuda_test_util.h"
#include "tests/e2e/cli_runner.h"
#include "training/checkpoint.h"
#include "training/experiment.h"

namespace frugal {
namespace {

using e2e::CliResult;
using e2e::read_text;
using e2e::run_frugal;
using e2e::TempDir;
using e2e::write_text;

// tests/e2e's tiny MLP (synthetic 1x8x8, dropout) on the GPU, its run directory inside `dir`.
std::string gpu_config(const TempDir& dir) {
  nlohmann::json config = e2e::tiny_config("gpu");
  config["device"] = "cuda";
  config["output"] = {{"dir", dir.str("run")}};
  write_text(dir.path() / "config.json", config.dump(2));
  return dir.str("config.json");
}

TEST(CudaCli, TrainThenEvalOfItsCheckpointAgree) {
  FRUGAL_REQUIRE_GPU(cuda);
  TempDir dir("cuda_train");
  const std::string config = gpu_config(dir);
  const CliResult train = run_frugal("train --config " + config);
  ASSERT_EQ(train.exit_code, 0) << train.output;
  const CliResult eval = run_frugal("eval --config " + config + " --checkpoint " + dir.str("run/checkpoint"));
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  const auto summary = nlohmann::json::parse(read_text(dir.path() / "run/summary.json"));
  const auto result = nlohmann::json::parse(read_text(dir.path() / "run/checkpoint/eval.json"));
  // The same weights through the same deterministic kernels in the same order of batches.
  EXPECT_DOUBLE_EQ(result["accuracy"].get<double>(), summary["test"]["accuracy"].get<double>());
  const auto memory = nlohmann::json::parse(read_text(dir.path() / "run/memory.json"));
  ASSERT_TRUE(memory.contains("device")) << memory.dump();
  // Exact backprop, static planner, reported while the batch staging is live: every byte is planned.
  EXPECT_EQ(memory["device"]["unplanned_bytes"], 0) << memory["device"].dump(2);
}

TEST(CudaCli, ProfileCountsTheDevicesBytes) {
  FRUGAL_REQUIRE_GPU(cuda);
  TempDir dir("cuda_profile");
  const CliResult r = run_frugal("profile --config " + gpu_config(dir) + " --steps 2 --time --output " + dir.str("prof"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("cuda planned"), std::string::npos) << r.output;
  const auto device = nlohmann::json::parse(read_text(dir.path() / "prof/memory.json")).at("device");
  EXPECT_EQ(device["device"], "cuda");
  EXPECT_EQ(device["unplanned_bytes"], 0) << device.dump(2);
  EXPECT_GT(device["runtime_bytes"].get<size_t>(), 0u);
  EXPECT_GE(device["driver_peak_used_bytes"].get<size_t>(), device["allocated_bytes"].get<size_t>());
}

TEST(CudaCli, BenchReportsDeviceMemoryAsPlanned) {
  FRUGAL_REQUIRE_GPU(cuda);
  TempDir dir("cuda_bench");
  const CliResult r =
      run_frugal("bench --config " + gpu_config(dir) + " --steps 3 --warmup 1 --json " + dir.str("bench.json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto bench = nlohmann::json::parse(read_text(dir.path() / "bench.json"));
  EXPECT_EQ(bench["device"], "cuda");
  const auto& memory = bench.at("device_memory");
  // The most the allocator ever held is everything at once: the plan, staging included.
  EXPECT_EQ(memory["allocated_peak_bytes"], memory["planned_bytes"]) << memory.dump(2);
  EXPECT_EQ(memory["peak_bytes"].get<size_t>(),
            memory["allocated_peak_bytes"].get<size_t>() + memory["runtime_scratch_bytes"].get<size_t>());
}

TEST(CudaCli, StepMatchesTheCpusStep) {
  FRUGAL_REQUIRE_GPU(cuda);
  TempDir dir("cuda_step");
  const std::string config = gpu_config(dir);
  {
    nlohmann::json cpu_config = nlohmann::json::parse(read_text(config));
    cpu_config["device"] = "cpu";
    Experiment e = build_experiment(validate_config(cpu_config, frugal_config_schema(), "test"), ExperimentUse::Train);
    save_safetensors(dir.str("init.safetensors"), model_state(*e.graph));
    auto [images, labels] = testing::host_batch("mlp", 32);
    for (int64_t i = 0; i < labels.numel(); ++i) labels.data<int32_t>()[i] %= 4;  // tiny_config has 4 classes
    save_safetensors(dir.str("batch.safetensors"), {{"images", images}, {"labels", labels}});
  }
  auto step = [&](const std::string& device) {
    const CliResult r = run_frugal("step --config " + config + " --set device=" + device + " --init " +
                                   dir.str("init.safetensors") + " --batch " + dir.str("batch.safetensors") +
                                   " --output " + dir.str(device + ".safetensors"));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return nlohmann::json::parse(read_text(dir.path() / (device + ".safetensors.json")));
  };
  const auto on_cpu = step("cpu"), on_gpu = step("cuda");
  // One step of a 3-layer MLP: the network tests' float32 bound (tests/cuda/network_cuda_test.cpp).
  EXPECT_NEAR(on_gpu["loss"].get<double>(), on_cpu["loss"].get<double>(), 1e-4 * on_cpu["loss"].get<double>());
  const SafetensorsFile cpu_weights = load_safetensors(dir.str("cpu.safetensors"));
  const SafetensorsFile gpu_weights = load_safetensors(dir.str("cuda.safetensors"));
  ASSERT_EQ(cpu_weights.tensors.size(), gpu_weights.tensors.size());
  for (size_t i = 0; i < cpu_weights.tensors.size(); ++i)
    EXPECT_LE(testing::relative_l2(gpu_weights.tensors[i].second, cpu_weights.tensors[i].second), 1e-4)
        << cpu_weights.tensors[i].first;
}

TEST(CudaCli, GradcheckRuns) {
  FRUGAL_REQUIRE_GPU(cuda);
  TempDir dir("cuda_gradcheck");
  const CliResult r = run_frugal("gradcheck --config " + gpu_config(dir) +
                                 " --modes exact,randomized_trace:probes=4 --batches 1 --draws 2 --output " +
                                 dir.str("gc"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto report = nlohmann::json::parse(read_text(dir.path() / "gc/gradcheck.json"));
  ASSERT_EQ(report["results"].size(), 2u);
  // Exact against exact on one device: the same gradients.
  EXPECT_DOUBLE_EQ(report["results"][0]["total"]["rel_l2"].get<double>(), 0.0);
}

}  // namespace
}  // namespace frugal
