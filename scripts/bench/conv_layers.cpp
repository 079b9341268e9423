// Per-layer conv microbenchmark: CPU time of each conv pass (forward without a bias, as the convs
// before a BatchNorm run; backward-data; backward-weight with the bias gradient) for the conv shapes
// of ResNet-20 and ResNet-18 (CIFAR, batch 128), or for one shape given on the command line. CPU
// time rather than wall time (wall time at several threads), and the best of several repetitions, so
// a shared, loaded machine still gives comparable numbers; run at OMP_NUM_THREADS=1 to compare
// kernels, and compare builds interleaved (old, new, old, new). Set OPENBLAS_NUM_THREADS=1 at several
// threads, as training does.
//
//   cmake --build build --target frugal_conv_bench
//   OMP_NUM_THREADS=1 build/frugal_conv_bench [reps]
//   OMP_NUM_THREADS=1 build/frugal_conv_bench N C HW O K stride pad [reps]   (square images;
//   FRUGAL_BENCH_NO_WINOGRAD=1 for the other kernels)
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <string>
#include <vector>

#include "cli/blas_setup.h"
#include "ops/cpu/conv_cpu.h"

namespace {

using frugal::Conv2dGeometry;

struct Layer {
  std::string name;
  Conv2dGeometry g;
};

Conv2dGeometry square(int64_t n, int64_t c, int64_t hw, int64_t o, int64_t k, int64_t stride,
                      int64_t pad) {
  Conv2dGeometry g{n, c, hw, hw, o, k, k};
  g.stride_h = g.stride_w = stride;
  g.pad_h = g.pad_w = pad;
  return g;
}

std::vector<Layer> resnet_layers() {
  return {
      {"r20 stem 3->16 @32", square(128, 3, 32, 16, 3, 1, 1)},
      {"r20 3x3 16 @32", square(128, 16, 32, 16, 3, 1, 1)},
      {"r20 3x3 s2 16->32 @32", square(128, 16, 32, 32, 3, 2, 1)},
      {"r20 1x1 s2 16->32 @32", square(128, 16, 32, 32, 1, 2, 0)},
      {"r20 3x3 32 @16", square(128, 32, 16, 32, 3, 1, 1)},
      {"r20 3x3 s2 32->64 @16", square(128, 32, 16, 64, 3, 2, 1)},
      {"r20 1x1 s2 32->64 @16", square(128, 32, 16, 64, 1, 2, 0)},
      {"r20 3x3 64 @8", square(128, 64, 8, 64, 3, 1, 1)},
      {"r18 3x3 256 @8", square(128, 256, 8, 256, 3, 1, 1)},
      {"r18 3x3 s2 256->512 @8", square(128, 256, 8, 512, 3, 2, 1)},
      {"r18 3x3 512 @4", square(128, 512, 4, 512, 3, 1, 1)},
  };
}

// CPU time at one thread; wall time at several, where CPU time would add up the threads (and count
// OpenMP's spin-waiting).
double cpu_ms() {
  timespec ts;
  clock_gettime(omp_get_max_threads() > 1 ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

template <class Pass>
double best_ms(int reps, const Pass& pass) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double start = cpu_ms();
    pass();
    best = std::min(best, cpu_ms() - start);
  }
  return best;
}

void bench(const Layer& layer, int reps) {
  const Conv2dGeometry& g = layer.g;
  const size_t x_size = g.batch * g.in_channels * g.in_h * g.in_w;
  const size_t y_size = g.batch * g.out_channels * g.out_h() * g.out_w();
  const size_t w_size = g.out_channels * g.in_channels / g.groups * g.kernel_h * g.kernel_w;
  std::vector<float> x(x_size, 0.5f), dx(x_size), y(y_size), dy(y_size, 0.25f), w(w_size, 0.1f),
      dw(w_size), db(g.out_channels);
  // 64-byte aligned like the memory planner's buffers: the direct kernels' vectors then never
  // straddle cache lines (a misaligned workspace makes the weight gradient up to 1.3x slower).
  const size_t workspace_floats = frugal::conv2d_workspace_floats(g);
  std::vector<float> workspace_storage(workspace_floats + 16);
  float* workspace = workspace_storage.data();
  while (reinterpret_cast<uintptr_t>(workspace) % 64 != 0) ++workspace;
  const double fwd = best_ms(reps, [&] {
    frugal::conv2d_forward_cpu(g, x.data(), w.data(), nullptr, y.data(), workspace);
  });
  const double data = best_ms(reps, [&] {
    frugal::conv2d_backward_data_cpu(g, dy.data(), w.data(), dx.data(), workspace);
  });
  const double weight = best_ms(reps, [&] {
    frugal::conv2d_backward_weight_cpu(g, x.data(), dy.data(), dw.data(), db.data(), workspace,
                                       false);
  });
  const double mflop = frugal::conv2d_forward_flops(g) / 1e6;
  std::printf(
      "%-26s fwd %8.2f ms (%4.0f GF/s)  bwd-data %8.2f ms (%4.0f)  bwd-wgt %8.2f ms (%4.0f)  "
      "workspace %6.0f KiB\n",
      layer.name.c_str(), fwd, mflop / fwd, data, mflop / data, weight, mflop / weight,
      workspace_floats * 4 / 1024.0);
}

}  // namespace

int main(int argc, char** argv) {
  frugal::cli::ensure_fast_blas_kernels(argc, argv);
  std::printf("OpenMP threads: %d\n", omp_get_max_threads());
  if (argc >= 8) {
    auto arg = [&](int i) { return std::atol(argv[i]); };
    Layer layer{"custom", square(arg(1), arg(2), arg(3), arg(4), arg(5), arg(6), arg(7))};
    // FRUGAL_BENCH_NO_WINOGRAD=1: the kernels a step falls back to where Winograd's workspace would
    // raise its peak (training/conv_algorithms.h).
    if (const char* off = std::getenv("FRUGAL_BENCH_NO_WINOGRAD"); off && *off == '1') layer.g.winograd = false;
    try {
      frugal::validate_conv2d(layer.g, "frugal_conv_bench");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\nusage: frugal_conv_bench [reps] | N C HW O K stride pad [reps]\n",
                   e.what());
      return 1;
    }
    bench(layer, argc > 8 ? std::atoi(argv[8]) : 5);
    return 0;
  }
  const int reps = argc > 1 ? std::atoi(argv[1]) : 5;
  for (const Layer& layer : resnet_layers()) bench(layer, reps);
}
