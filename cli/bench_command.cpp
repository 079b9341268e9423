// frugal bench: throughput numbers for comparing against other frameworks (scripts/bench/vs_pytorch.py).
//   frugal bench --config F [--set k=v]... [--steps N] [--warmup W] [--threads T] [--json OUT]
//     times N training steps after W warm-up steps: per-step seconds, median, images/s, GFLOP/s, peak RSS.
//     A step is forward, backward and optimizer; its batch is prepared before it, untimed (data_seconds).
//   frugal bench --gemm [--sizes 512,1024,2048] [--threads T] [--json OUT]
//     times square sgemm through frugal's OpenMP-parallel OpenBLAS wrapper: the machine's GEMM ceiling.
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/timed_steps.h"
#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/output_paths.h"
#include "memory/profiler.h"
#include "ops/kernels.h"
#include "training/experiment.h"
#include "training/memory_accounting.h"

extern "C" char* openblas_get_config();

namespace frugal::cli {
namespace {

struct BenchArgs {
  ConfigArgs config;
  bool gemm = false;
  bool no_relu_folding = false;
  std::vector<int64_t> sizes = {512, 1024, 2048};
  int steps = 10, warmup = 2, threads = -1;  // -1: the config's setting (all cores for --gemm)
  std::string json;
};

// Best-of-repeats seconds of one n x n x n sgemm, repeated for at least `min_seconds` after a warm-up.
double best_sgemm_seconds(int64_t n, double min_seconds) {
  const Kernels& cpu = kernels_for(Device::CPU);
  std::vector<float> a(n * n), b(n * n), c(n * n);
  for (int64_t i = 0; i < n * n; ++i) a[i] = static_cast<float>(i % 17) * 0.01f, b[i] = static_cast<float>(i % 13) * 0.02f;
  auto run = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    cpu.gemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  run();
  double best = run(), total = best;
  for (int reps = 1; reps < 3 || total < min_seconds; ++reps) {
    const double t = run();
    best = std::min(best, t);
    total += t;
  }
  return best;
}

nlohmann::json bench_gemm(const BenchArgs& args) {
  apply_thread_setting(std::max(args.threads, 0));
  nlohmann::json out = {{"kind", "gemm"}, {"threads", omp_get_max_threads()}, {"blas", openblas_get_config()}};
  double best_gflops = 0;
  for (int64_t n : args.sizes) {
    const double seconds = best_sgemm_seconds(n, 0.5);
    const double gflops = 2.0 * n * n * n / seconds / 1e9;
    best_gflops = std::max(best_gflops, gflops);
    out["sizes"].push_back({{"n", n}, {"seconds", seconds}, {"gflops_per_second", gflops}});
    std::printf("sgemm %5lld^3 on %d threads: %8.3f ms, %7.1f GFLOP/s\n", static_cast<long long>(n),
                omp_get_max_threads(), 1000 * seconds, gflops);
  }
  out["best_gflops_per_second"] = best_gflops;
  out["peak_rss_bytes"] = peak_rss_bytes();
  return out;
}

// A GPU's memory after the timed steps. planned_bytes (staging included, which was live during the
// steps) compares with allocated_peak_bytes; peak_bytes (the allocator's peak plus the runtime's own
// workspaces and scratch) with torch.cuda.max_memory_allocated(), whose caching allocator also holds the
// library workspaces (scripts/bench/vs_pytorch_cuda.py).
nlohmann::json device_memory_json(Experiment& e, Device device, size_t staging_bytes) {
  DeviceRuntime& rt = device_runtime(device);
  rt.sample_memory();
  const DeviceMemoryStats s = rt.memory_stats();
  return {{"planned_bytes",
           e.step_schedule->planner().predicted_peak_bytes() + persistent_device_bytes(e, device) + staging_bytes},
          {"allocated_bytes", s.allocated_bytes},
          {"allocated_peak_bytes", s.allocated_peak_bytes},
          {"allocations", s.allocations},
          {"runtime_bytes", s.runtime_bytes()},
          {"runtime_scratch_bytes", s.scratch_bytes},
          {"peak_bytes", s.allocated_peak_bytes + s.scratch_bytes},
          {"driver_peak_used_bytes", s.peak_used_bytes},
          {"total_bytes", s.total_bytes}};
}

nlohmann::json bench_training(BenchArgs& args) {
  if (args.threads >= 0) args.config.sets.push_back("threads=" + std::to_string(args.threads));
  const nlohmann::json config = load_config_with_overrides(args.config);
  Experiment e = build_experiment(config, ExperimentUse::Train);
  e.executor->set_relu_folding(!args.no_relu_folding);
  const TimedSteps run = run_timed_steps(e, config, args.warmup, args.steps, false);
  const double step = median(run.step_seconds);
  const Device device = e.graph->device();
  // Backward of conv/linear costs about twice the forward FLOPs (data and weight gradients).
  // Per step: the graph is set up for one of its micro_batches passes.
  const double flops = 3.0 * static_cast<double>(e.graph->forward_flops()) * e.executor->micro_batches();
  nlohmann::json out = {{"kind", "training"},
                        {"name", config.at("name")},
                        {"config", args.config.config},
                        {"sets", args.config.sets},
                        {"model", config.at("model")},
                        {"optimizer", config.at("optimizer")},
                        {"sample_shape", e.sample_shape.to_vector()},
                        {"classes", e.num_classes},
                        {"batch", run.batch},
                        {"threads", omp_get_max_threads()},
                        {"relu_folding", !args.no_relu_folding},
                        {"blas", openblas_get_config()},
                        {"warmup", args.warmup},
                        {"steps", args.steps},
                        {"step_seconds", run.step_seconds},
                        {"optimizer_seconds", run.optimizer_seconds},
                        {"median_step_seconds", step},
                        {"median_optimizer_seconds", median(run.optimizer_seconds)},
                        {"data_seconds", run.data_seconds},
                        {"median_data_seconds", median(run.data_seconds)},
                        {"images_per_second", run.batch / step},
                        {"flops_per_step", flops},
                        {"gflops_per_second", flops / step / 1e9},
                        {"peak_rss_bytes", peak_rss_bytes()},
                        {"device", device_name(device)},
                        {"kernels", kernels_for(device).describe()}};
  if (device != Device::CPU) out["device_memory"] = device_memory_json(e, device, run.staging_bytes);
  std::printf("%s: batch %lld, %d threads, median step %.3f ms over %d steps = %.0f images/s, %.2f GFLOP/s, "
              "peak RSS %.1f MiB\n",
              out["name"].get<std::string>().c_str(), static_cast<long long>(run.batch), omp_get_max_threads(),
              1000 * step, args.steps, run.batch / step, flops / step / 1e9, peak_rss_bytes() / 1048576.0);
  if (out.contains("device_memory"))
    std::printf("%s: peak device memory %.1f MiB (allocator %.1f MiB + runtime workspaces %.1f MiB), driver peak "
                "%.1f MiB\n",
                device_name(device), out["device_memory"]["peak_bytes"].get<double>() / 1048576.0,
                out["device_memory"]["allocated_peak_bytes"].get<double>() / 1048576.0,
                out["device_memory"]["runtime_scratch_bytes"].get<double>() / 1048576.0,
                out["device_memory"]["driver_peak_used_bytes"].get<double>() / 1048576.0);
  return out;
}

}  // namespace

Action add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "time training steps (--config) or the GEMM ceiling (--gemm)");
  auto args = std::make_shared<BenchArgs>();
  add_config_options(*cmd, args->config, false);
  cmd->add_flag("--gemm", args->gemm, "time square sgemm instead of training steps");
  cmd->add_option("--sizes", args->sizes, "--gemm: matrix sizes (default 512 1024 2048)")
      ->delimiter(',')
      ->check(CLI::Range(int64_t{1}, int64_t{16384}));
  cmd->add_option("--steps", args->steps, "timed training steps (default 10)")->check(CLI::Range(1, 1000000));
  cmd->add_option("--warmup", args->warmup, "untimed training steps first (default 2)")->check(CLI::Range(0, 1000000));
  cmd->add_option("--threads", args->threads, "OpenMP threads, 0 = all cores (default: the config's threads)")
      ->check(CLI::Range(0, 4096));
  cmd->add_flag("--no-relu-folding", args->no_relu_folding,
                "run each ReLU after a BatchNorm/Add as its own layer (for comparison; same results)");
  cmd->add_option("--json", args->json, "also write the results as JSON to this file");
  return [cmd, args]() {
    if (!cmd->parsed()) return -1;
    if (args->gemm == !args->config.config.empty())
      throw ConfigError("bench: give either --config FILE (time training steps) or --gemm (time sgemm)");
    if (args->gemm && (!args->config.sets.empty() || args->no_relu_folding))
      throw ConfigError("bench --gemm takes no --set or --no-relu-folding");
    if (!args->json.empty()) check_output_file(args->json);
    const nlohmann::json out = args->gemm ? bench_gemm(*args) : bench_training(*args);
    if (!args->json.empty()) write_file_atomic(args->json, out.dump(2) + "\n");
    return 0;
  };
}

}  // namespace frugal::cli
