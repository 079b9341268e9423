// The CUDA kernels of the approximate backward modes against the CPU kernels, through the Kernels
// interface, on random inputs: packed codes byte-identical (and codes written on one device decoded on
// the other), reconstructions and gradients bit-identical, GEMM-based results within 1e-4 of the CPU's
// (relative to the largest entry), every bit width, sizes that end in a partial byte, stride 2 and
// padding for the conv trace, outputs and workspaces that are never overrun, and the same bits when a
// kernel runs twice. Skipped, by name, where no GPU is visible.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"
#include "ops/kernels.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/ops/reference_util.h"

namespace frugal {
namespace {

constexpr uint8_t kGuard = 0xCD;
constexpr size_t kGuardBytes = 64;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

const Kernels& cpu() { return kernels_for(Device::CPU); }

// ---- Moving data ----

template <class T>
Tensor to_gpu(const std::vector<T>& host) {
  const Tensor view =
      Tensor::wrap(const_cast<T*>(host.data()), {static_cast<int64_t>(host.size())}, dtype_of<T>(), Device::CPU);
  return view.to(Device::CUDA);
}

template <class T>
std::vector<T> to_host(const Tensor& t) {
  const Tensor h = t.to(Device::CPU);
  const T* p = h.data<T>();
  return std::vector<T>(p, p + h.numel());
}

// A device buffer of `bytes` followed by kGuardBytes guard bytes; intact() says whether a kernel wrote
// past the first `bytes`.
struct Guarded {
  Tensor t;
  size_t bytes;
  Guarded(const Kernels& k, size_t bytes_) : bytes(bytes_) {
    const size_t total = bytes + kGuardBytes;
    t = Tensor::empty({static_cast<int64_t>((total + 7) / 8)}, DType::F64, &k.runtime().allocator());
    k.fill_bytes(t.device_data<double>(), kGuard, t.nbytes());
  }
  float* f32() const { return reinterpret_cast<float*>(t.device_data<double>()); }
  uint8_t* u8() const { return reinterpret_cast<uint8_t*>(t.device_data<double>()); }
  std::vector<uint8_t> bytes_on_host() const {
    const std::vector<double> all = to_host<double>(t);
    std::vector<uint8_t> b(bytes);
    std::memcpy(b.data(), all.data(), bytes);
    return b;
  }
  std::vector<float> floats_on_host() const {
    std::vector<uint8_t> b = bytes_on_host();
    std::vector<float> f(bytes / sizeof(float));
    std::memcpy(f.data(), b.data(), f.size() * sizeof(float));
    return f;
  }
  bool intact() const {
    const std::vector<double> all = to_host<double>(t);
    const uint8_t* p = reinterpret_cast<const uint8_t*>(all.data());
    for (size_t i = bytes; i < bytes + kGuardBytes; ++i)
      if (p[i] != kGuard) return false;
    return true;
  }
};

std::vector<float> normals(size_t n, uint64_t step, float mean = 0.0f, float sd = 1.0f) {
  std::vector<float> v(n);
  rng_normal(rng_key(61, RngStream::Test, step), v.data(), n, mean, sd);
  return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// ---- fewbit ----

FewbitLevels fewbit_table(int bits) {
  FewbitLevels t;
  t.bits = bits;
  const int borders = (1 << bits) - 1;
  for (int k = 0; k < borders; ++k) t.borders[k] = -1.5f + 3.0f * static_cast<float>(k + 1) / (borders + 1);
  for (int k = 0; k < (1 << bits); ++k) t.levels[k] = 0.3f * static_cast<float>(k) - 0.2f;
  t.levels[0] = 0.0f;
  return t;
}

TEST(CudaModeKernels, FewbitCodesAndGradientsAreTheCpuOnesAtEveryWidth) {
  FRUGAL_REQUIRE_GPU(cuda);
  for (int bits = 1; bits <= kMaxFewbitBits; ++bits)
    for (int64_t n : {int64_t{1}, int64_t{13}, int64_t{100003}}) {
      const FewbitLevels table = fewbit_table(bits);
      std::vector<float> x = normals(n, bits * 10 + n), dy = normals(n, bits * 10 + n + 1);
      x[0] = kNaN;
      if (n > 2) x[1] = table.borders[0], x[2] = -0.0f;
      const size_t bytes = packed_bytes(n, bits);

      std::vector<uint8_t> packed_cpu(bytes);
      cpu().fewbit_encode(n, x.data(), table, packed_cpu.data());
      const Tensor x_gpu = to_gpu(x), dy_gpu = to_gpu(dy);
      Guarded packed(*cuda, bytes), again(*cuda, bytes);
      cuda->fewbit_encode(n, x_gpu.device_f32(), table, packed.u8());
      cuda->fewbit_encode(n, x_gpu.device_f32(), table, again.u8());
      EXPECT_EQ(packed.bytes_on_host(), packed_cpu) << "bits " << bits << " n " << n;
      EXPECT_EQ(again.bytes_on_host(), packed_cpu) << "second run, bits " << bits;
      EXPECT_TRUE(packed.intact()) << "wrote past packed_bytes, bits " << bits << " n " << n;

      // The CPU's codes decoded on the GPU.
      std::vector<float> dx_cpu(n);
      cpu().fewbit_backward(n, packed_cpu.data(), table, dy.data(), dx_cpu.data());
      const Tensor codes_from_cpu = to_gpu(packed_cpu);
      Guarded dx(*cuda, n * sizeof(float));
      cuda->fewbit_backward(n, codes_from_cpu.device_data<uint8_t>(), table, dy_gpu.device_f32(), dx.f32());
      EXPECT_TRUE(same_bits(dx.floats_on_host(), dx_cpu)) << "bits " << bits << " n " << n;
      EXPECT_TRUE(dx.intact());
      cuda->fewbit_backward(n, packed.u8(), table, dy_gpu.device_f32(), dy_gpu.device_f32());  // in place
      EXPECT_TRUE(same_bits(to_host<float>(dy_gpu), dx_cpu)) << "in place, bits " << bits;
    }
}

// ---- K-bit quantized activations ----

struct Shape3 {
  int64_t n, c, s;
  int64_t total() const { return n * c * s; }
};

TEST(CudaModeKernels, ChannelStatisticsMatchTheCpuAndRepeatBitForBit) {
  FRUGAL_REQUIRE_GPU(cuda);
  const Shape3 shapes[] = {{3, 5, 7}, {128, 16, 1024}, {33, 9, 1}, {2, 3, 5000}};
  for (const Shape3& sh : shapes) {
    std::vector<float> y = normals(sh.total(), sh.total(), 0.3f, 1.7f);
    for (int64_t i = 0; i < sh.n; ++i) y[(i * sh.c + 1) * sh.s] += 500.0f;  // a channel with a far outlier
    std::vector<float> mean_cpu(sh.c), std_cpu(sh.c);
    cpu().channel_mean_std(sh.n, sh.c, sh.s, y.data(), mean_cpu.data(), std_cpu.data());
    const Tensor y_gpu = to_gpu(y);
    Guarded mean(*cuda, sh.c * sizeof(float)), std(*cuda, sh.c * sizeof(float));
    Guarded mean2(*cuda, sh.c * sizeof(float)), std2(*cuda, sh.c * sizeof(float));
    cuda->channel_mean_std(sh.n, sh.c, sh.s, y_gpu.device_f32(), mean.f32(), std.f32());
    cuda->channel_mean_std(sh.n, sh.c, sh.s, y_gpu.device_f32(), mean2.f32(), std2.f32());
    const std::vector<float> m = mean.floats_on_host(), s = std.floats_on_host();
    for (int64_t ch = 0; ch < sh.c; ++ch) {
      EXPECT_NEAR(m[ch], mean_cpu[ch], 1e-6 * std::fabs(mean_cpu[ch])) << ch;
      EXPECT_NEAR(s[ch], std_cpu[ch], 1e-6 * std_cpu[ch]) << ch;
    }
    EXPECT_TRUE(same_bits(mean2.floats_on_host(), m));
    EXPECT_TRUE(same_bits(std2.floats_on_host(), s));
    EXPECT_TRUE(mean.intact() && std.intact());
  }
}

TEST(CudaModeKernels, GridsAndBatchnormOutputStatisticsAreTheCpuOnes) {
  FRUGAL_REQUIRE_GPU(cuda);
  const int64_t c = 29;
  std::vector<float> mean = normals(c, 1, 0.0f, 2.0f), sd = normals(c, 2, 1.0f, 0.5f);
  for (int64_t ch = 0; ch < c; ++ch) sd[ch] = std::fabs(sd[ch]);
  mean[1] = 5.0f, sd[1] = 1.0f;   // all positive
  mean[2] = -5.0f, sd[2] = 1.0f;  // all negative
  sd[3] = 0.0f;                   // constant
  mean[4] = kNaN;
  const Tensor mean_gpu = to_gpu(mean), sd_gpu = to_gpu(sd);
  for (int bits = 2; bits <= 8; ++bits) {
    std::vector<float> grid_cpu(3 * c);
    cpu().relu_grid(c, mean.data(), sd.data(), bits, grid_cpu.data());
    Guarded grid(*cuda, 3 * c * sizeof(float));
    cuda->relu_grid(c, mean_gpu.device_f32(), sd_gpu.device_f32(), bits, grid.f32());
    EXPECT_TRUE(same_bits(grid.floats_on_host(), grid_cpu)) << "bits " << bits;
    EXPECT_TRUE(grid.intact());
  }
  std::vector<float> gamma = normals(c, 3), beta = normals(c, 4), invstd = normals(c, 5, 3.0f, 1.0f);
  for (float& v : invstd) v = std::fabs(v);
  invstd[0] = 1e4f;
  std::vector<float> m_cpu(c), s_cpu(c);
  cpu().batchnorm_output_mean_std(c, gamma.data(), beta.data(), invstd.data(), 1e-5f, m_cpu.data(), s_cpu.data());
  const Tensor gamma_gpu = to_gpu(gamma), beta_gpu = to_gpu(beta), invstd_gpu = to_gpu(invstd);
  Guarded m(*cuda, c * sizeof(float)), s(*cuda, c * sizeof(float));
  cuda->batchnorm_output_mean_std(c, gamma_gpu.device_f32(), beta_gpu.device_f32(), invstd_gpu.device_f32(), 1e-5f,
                                  m.f32(), s.f32());
  EXPECT_TRUE(same_bits(m.floats_on_host(), m_cpu));
  EXPECT_TRUE(same_bits(s.floats_on_host(), s_cpu));
}

TEST(CudaModeKernels, QuantizedCodesAndDecodersAreTheCpuOnesAtEveryWidth) {
  FRUGAL_REQUIRE_GPU(cuda);
  const Shape3 shapes[] = {{1, 1, 1}, {3, 7, 1}, {4, 5, 9}, {16, 32, 63}};
  for (int bits = 2; bits <= 8; ++bits)
    for (const Shape3& sh : shapes) {
      const int64_t total = sh.total();
      std::vector<float> y = normals(total, bits * 100 + total, 0.2f, 1.0f);
      y[0] = kNaN;
      if (total > 3) y[1] = 0.0f, y[2] = -0.0f, y[3] = 1e-41f;
      std::vector<float> mean(sh.c), sd(sh.c), grid(3 * sh.c);
      cpu().channel_mean_std(sh.n, sh.c, sh.s, y.data(), mean.data(), sd.data());
      cpu().relu_grid(sh.c, mean.data(), sd.data(), bits, grid.data());
      std::vector<float> gamma = normals(sh.c, 7), beta = normals(sh.c, 8), dy = normals(total, 9);
      gamma[0] = 0.0f;
      const size_t bytes = packed_bytes(total, bits);
      std::vector<uint8_t> packed_cpu(bytes);
      cpu().quantize(sh.n, sh.c, sh.s, y.data(), grid.data(), bits, packed_cpu.data());

      const Tensor y_gpu = to_gpu(y), grid_gpu = to_gpu(grid), gamma_gpu = to_gpu(gamma), beta_gpu = to_gpu(beta);
      const Tensor dy_gpu = to_gpu(dy), codes_from_cpu = to_gpu(packed_cpu);
      Guarded packed(*cuda, bytes), again(*cuda, bytes);
      cuda->quantize(sh.n, sh.c, sh.s, y_gpu.device_f32(), grid_gpu.device_f32(), bits, packed.u8());
      cuda->quantize(sh.n, sh.c, sh.s, y_gpu.device_f32(), grid_gpu.device_f32(), bits, again.u8());
      EXPECT_EQ(packed.bytes_on_host(), packed_cpu) << "bits " << bits << " total " << total;
      EXPECT_EQ(again.bytes_on_host(), packed_cpu) << "second run, bits " << bits;
      EXPECT_TRUE(packed.intact()) << "wrote past packed_bytes, bits " << bits << " total " << total;

      const uint8_t* codes = codes_from_cpu.device_data<uint8_t>();  // the CPU's codes, decoded on the GPU
      std::vector<float> want(total);
      Guarded got(*cuda, total * sizeof(float));
      cpu().dequantize_relu(sh.n, sh.c, sh.s, packed_cpu.data(), grid.data(), bits, want.data());
      cuda->dequantize_relu(sh.n, sh.c, sh.s, codes, grid_gpu.device_f32(), bits, got.f32());
      EXPECT_TRUE(same_bits(got.floats_on_host(), want)) << "dequantize_relu, bits " << bits;
      cpu().dequantize_normalized(sh.n, sh.c, sh.s, packed_cpu.data(), grid.data(), bits, gamma.data(), beta.data(),
                                  want.data());
      cuda->dequantize_normalized(sh.n, sh.c, sh.s, codes, grid_gpu.device_f32(), bits, gamma_gpu.device_f32(),
                                  beta_gpu.device_f32(), got.f32());
      EXPECT_TRUE(same_bits(got.floats_on_host(), want)) << "dequantize_normalized, bits " << bits;
      cpu().relu_backward_from_codes(sh.n, sh.c, sh.s, packed_cpu.data(), grid.data(), bits, dy.data(), want.data());
      cuda->relu_backward_from_codes(sh.n, sh.c, sh.s, codes, grid_gpu.device_f32(), bits, dy_gpu.device_f32(),
                                     got.f32());
      EXPECT_TRUE(same_bits(got.floats_on_host(), want)) << "relu_backward_from_codes, bits " << bits;
      EXPECT_TRUE(got.intact());
      cuda->relu_backward_from_codes(sh.n, sh.c, sh.s, codes, grid_gpu.device_f32(), bits, dy_gpu.device_f32(),
                                     dy_gpu.device_f32());
      EXPECT_TRUE(same_bits(to_host<float>(dy_gpu), want)) << "in place, bits " << bits;
    }
}

// ---- Randomized trace ----

Conv2dGeometry conv(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t k, int64_t stride, int64_t pad) {
  Conv2dGeometry g{};
  g.batch = n;
  g.in_channels = c;
  g.in_h = h;
  g.in_w = w;
  g.out_channels = o;
  g.kernel_h = g.kernel_w = k;
  g.stride_h = g.stride_w = stride;
  g.pad_h = g.pad_w = pad;
  return g;
}

TraceProbes trace_probes(ProbeMode mode, ProbeDistribution dist, int64_t r) {
  TraceProbes p;
  p.mode = mode;
  p.distribution = dist;
  p.count = r;
  p.key = rng_key(5, RngStream::Probes, 2);
  return p;
}

const ProbeMode kProbeModes[] = {ProbeMode::Independent, ProbeMode::Gaussian, ProbeMode::Orthogonal};
const ProbeDistribution kDistributions[] = {ProbeDistribution::Rademacher, ProbeDistribution::Gaussian};

// Sketch and weight gradient of one conv on both devices; the GPU's twice.
void check_conv_trace(const Kernels& gpu, const Conv2dGeometry& g, const TraceProbes& tp, const std::string& what) {
  const int64_t oh = g.out_h(), ow = g.out_w();
  const std::vector<float> x = normals(g.batch * g.in_channels * g.in_h * g.in_w, 70);
  const std::vector<float> dy = normals(g.batch * g.out_channels * oh * ow, 71);
  const int64_t sketch_floats = conv_trace_sketch_shape(g, tp).numel();
  const int64_t dw_floats = g.out_channels * g.in_channels * g.kernel_h * g.kernel_w;

  std::vector<float> sketch_cpu(sketch_floats), dw_cpu(dw_floats);
  std::vector<float> scratch_cpu(cpu().trace_sketch_scratch_bytes(tp) / sizeof(float));
  std::vector<float> ws_cpu(cpu().conv_trace_workspace_bytes(g, tp) / sizeof(float));
  cpu().conv_trace_sketch(g, tp, x.data(), sketch_cpu.data(), scratch_cpu.data());
  cpu().conv_trace_weight_grad(g, tp, sketch_cpu.data(), dy.data(), dw_cpu.data(), ws_cpu.data());

  const Tensor x_gpu = to_gpu(x), dy_gpu = to_gpu(dy);
  Guarded scratch(gpu, gpu.trace_sketch_scratch_bytes(tp)), ws(gpu, gpu.conv_trace_workspace_bytes(g, tp));
  Guarded sketch(gpu, sketch_floats * sizeof(float)), dw(gpu, dw_floats * sizeof(float));
  Guarded dw2(gpu, dw_floats * sizeof(float));
  gpu.conv_trace_sketch(g, tp, x_gpu.device_f32(), sketch.f32(), scratch.f32());
  gpu.conv_trace_weight_grad(g, tp, sketch.f32(), dy_gpu.device_f32(), dw.f32(), ws.f32());
  gpu.conv_trace_weight_grad(g, tp, sketch.f32(), dy_gpu.device_f32(), dw2.f32(), ws.f32());
  EXPECT_LT(test::max_relative_error(sketch.floats_on_host(), test::to_double(sketch_cpu)), 1e-4) << what;
  EXPECT_LT(test::max_relative_error(dw.floats_on_host(), test::to_double(dw_cpu)), 1e-4) << what;
  EXPECT_TRUE(same_bits(dw2.floats_on_host(), dw.floats_on_host())) << "second run, " << what;
  EXPECT_TRUE(scratch.intact() && ws.intact() && sketch.intact() && dw.intact()) << "overrun, " << what;
}

TEST(CudaModeKernels, ConvTraceMatchesTheCpuInEveryProbeModeWithStrideAndPadding) {
  FRUGAL_REQUIRE_GPU(cuda);
  // "Same" 3x3, stride 2 with padding on a non-square input, a 1x1, and a batch that fills several
  // chunks of the independent estimator.
  const Conv2dGeometry geometries[] = {conv(3, 4, 8, 8, 5, 3, 1, 1), conv(2, 3, 9, 7, 4, 3, 2, 1),
                                       conv(4, 6, 5, 5, 3, 1, 2, 0), conv(300, 8, 6, 6, 64, 3, 1, 1)};
  for (const Conv2dGeometry& g : geometries)
    for (ProbeMode mode : kProbeModes)
      for (ProbeDistribution dist : kDistributions)
        for (int64_t r : {5, 24}) {  // one partial probe block; a full block and a partial one
          const std::string what = "conv " + std::to_string(g.batch) + "x" + std::to_string(g.in_channels) + "x" +
                                   std::to_string(g.in_h) + "x" + std::to_string(g.in_w) + " stride " +
                                   std::to_string(g.stride_h) + " mode " + std::to_string(static_cast<int>(mode)) +
                                   " dist " + std::to_string(static_cast<int>(dist)) + " r " + std::to_string(r);
          check_conv_trace(*cuda, g, trace_probes(mode, dist, r), what);
        }
}

TEST(CudaModeKernels, ConvTraceRefusesGroupedConvolutionsAsTheCpuDoes) {
  FRUGAL_REQUIRE_GPU(cuda);
  Conv2dGeometry g = conv(2, 4, 6, 6, 4, 3, 1, 1);
  g.groups = 2;
  const TraceProbes tp = trace_probes(ProbeMode::Gaussian, ProbeDistribution::Rademacher, 4);
  EXPECT_THROW(cpu().conv_trace_sketch(g, tp, nullptr, nullptr, nullptr), InternalError);
  EXPECT_THROW(cuda->conv_trace_sketch(g, tp, nullptr, nullptr, nullptr), InternalError);
  EXPECT_THROW(cuda->conv_trace_weight_grad(g, tp, nullptr, nullptr, nullptr, nullptr), InternalError);
}

TEST(CudaModeKernels, LinearTraceMatchesTheCpuInEveryProbeMode) {
  FRUGAL_REQUIRE_GPU(cuda);
  struct Dims {
    int64_t n, in, out;
  };
  const Dims dims[] = {{7, 13, 5}, {128, 300, 10}, {5000, 20, 3}};  // the last spans several sketch blocks
  for (const Dims& d : dims)
    for (ProbeMode mode : kProbeModes)
      for (ProbeDistribution dist : kDistributions) {
        const TraceProbes tp = trace_probes(mode, dist, 16);
        const std::string what = "linear " + std::to_string(d.n) + "x" + std::to_string(d.in) + " mode " +
                                 std::to_string(static_cast<int>(mode)) + " dist " +
                                 std::to_string(static_cast<int>(dist));
        const std::vector<float> x = normals(d.n * d.in, 80), dy = normals(d.n * d.out, 81);
        const int64_t sketch_floats = linear_trace_sketch_shape(d.n, d.in, tp).numel();
        std::vector<float> sketch_cpu(sketch_floats), dw_cpu(d.out * d.in);
        std::vector<float> scratch_cpu(cpu().trace_sketch_scratch_bytes(tp) / sizeof(float));
        std::vector<float> ws_cpu(cpu().linear_trace_workspace_bytes(d.n, d.in, d.out, tp) / sizeof(float));
        cpu().linear_trace_sketch(d.n, d.in, tp, x.data(), sketch_cpu.data(), scratch_cpu.data());
        cpu().linear_trace_weight_grad(d.n, d.in, d.out, tp, sketch_cpu.data(), dy.data(), dw_cpu.data(),
                                       ws_cpu.data());

        const Tensor x_gpu = to_gpu(x), dy_gpu = to_gpu(dy);
        Guarded scratch(*cuda, cuda->trace_sketch_scratch_bytes(tp));
        Guarded ws(*cuda, cuda->linear_trace_workspace_bytes(d.n, d.in, d.out, tp));
        Guarded sketch(*cuda, sketch_floats * sizeof(float)), dw(*cuda, d.out * d.in * sizeof(float));
        Guarded dw2(*cuda, d.out * d.in * sizeof(float));
        cuda->linear_trace_sketch(d.n, d.in, tp, x_gpu.device_f32(), sketch.f32(), scratch.f32());
        cuda->linear_trace_weight_grad(d.n, d.in, d.out, tp, sketch.f32(), dy_gpu.device_f32(), dw.f32(), ws.f32());
        cuda->linear_trace_weight_grad(d.n, d.in, d.out, tp, sketch.f32(), dy_gpu.device_f32(), dw2.f32(), ws.f32());
        EXPECT_LT(test::max_relative_error(sketch.floats_on_host(), test::to_double(sketch_cpu)), 1e-4) << what;
        EXPECT_LT(test::max_relative_error(dw.floats_on_host(), test::to_double(dw_cpu)), 1e-4) << what;
        EXPECT_TRUE(same_bits(dw2.floats_on_host(), dw.floats_on_host())) << "second run, " << what;
        EXPECT_TRUE(scratch.intact() && ws.intact() && sketch.intact() && dw.intact()) << "overrun, " << what;
      }
}

// ---- Outer-product sampling ----

TEST(CudaModeKernels, OuterProductScoresGatherAndForgetAreTheCpuOnes) {
  FRUGAL_REQUIRE_GPU(cuda);
  struct Case {
    int64_t batch, slots, fx, fy;
    float decay;
  };
  const Case cases[] = {{9, 0, 13, 5, 1.0f}, {16, 12, 300, 10, 0.9f}, {128, 128, 4096, 257, 1.0f}};
  for (const Case& k : cases) {
    const std::vector<float> x = normals(k.batch * k.fx, 90), dy = normals(k.batch * k.fy, 91);
    std::vector<float> mx = normals(k.batch * k.fx, 92), my = normals(k.batch * k.fy, 93);
    const Tensor x_gpu = to_gpu(x), dy_gpu = to_gpu(dy), mx_gpu = to_gpu(mx), my_gpu = to_gpu(my);
    std::vector<double> scores_cpu(k.batch);
    cpu().outer_product_scores(k.batch, k.slots, k.fx, k.fy, x.data(), dy.data(), mx.data(), my.data(),
                               scores_cpu.data());
    Tensor scores = Tensor::empty({k.batch}, DType::F64, &cuda->runtime().allocator());
    cuda->outer_product_scores(k.batch, k.slots, k.fx, k.fy, x_gpu.device_f32(), dy_gpu.device_f32(),
                               k.slots ? mx_gpu.device_f32() : nullptr, k.slots ? my_gpu.device_f32() : nullptr,
                               scores.device_data<double>());
    const std::vector<double> got = to_host<double>(scores);
    for (int64_t b = 0; b < k.batch; ++b) EXPECT_NEAR(got[b], scores_cpu[b], 1e-12 * scores_cpu[b]) << "row " << b;
    EXPECT_TRUE(same_bits(to_host<float>(mx_gpu), mx)) << "memory x, batch " << k.batch;
    EXPECT_TRUE(same_bits(to_host<float>(my_gpu), my)) << "memory dy, batch " << k.batch;

    // Scoring twice gives the same bits.
    Tensor scores2 = Tensor::empty({k.batch}, DType::F64, &cuda->runtime().allocator());
    cuda->outer_product_scores(k.batch, 0, k.fx, k.fy, x_gpu.device_f32(), dy_gpu.device_f32(), nullptr, nullptr,
                               scores2.device_data<double>());
    cuda->outer_product_scores(k.batch, 0, k.fx, k.fy, x_gpu.device_f32(), dy_gpu.device_f32(), nullptr, nullptr,
                               scores.device_data<double>());
    EXPECT_EQ(0,
              std::memcmp(to_host<double>(scores).data(), to_host<double>(scores2).data(), sizeof(double) * k.batch));

    // Every third row, ascending, some with memory and some without.
    std::vector<int64_t> rows;
    for (int64_t b = 1; b < k.batch; b += 3) rows.push_back(b);
    const int64_t n_rows = static_cast<int64_t>(rows.size());
    std::vector<float> xs_cpu(n_rows * k.fx), dys_cpu(n_rows * k.fy);
    cpu().outer_product_gather(n_rows, rows.data(), k.slots, k.fx, k.fy, x.data(), dy.data(), mx.data(), my.data(),
                               xs_cpu.data(), dys_cpu.data());
    Guarded xs(*cuda, xs_cpu.size() * sizeof(float)), dys(*cuda, dys_cpu.size() * sizeof(float));
    cuda->outer_product_gather(n_rows, rows.data(), k.slots, k.fx, k.fy, x_gpu.device_f32(), dy_gpu.device_f32(),
                               mx_gpu.device_f32(), my_gpu.device_f32(), xs.f32(), dys.f32());
    EXPECT_TRUE(same_bits(xs.floats_on_host(), xs_cpu));
    EXPECT_TRUE(same_bits(dys.floats_on_host(), dys_cpu));
    EXPECT_TRUE(xs.intact() && dys.intact());

    if (k.slots == 0) continue;
    cpu().outer_product_forget(n_rows, rows.data(), k.slots, k.fx, k.fy, k.decay, mx.data(), my.data());
    cuda->outer_product_forget(n_rows, rows.data(), k.slots, k.fx, k.fy, k.decay, mx_gpu.device_f32(),
                               my_gpu.device_f32());
    EXPECT_TRUE(same_bits(to_host<float>(mx_gpu), mx)) << "forget, memory x, decay " << k.decay;
    EXPECT_TRUE(same_bits(to_host<float>(my_gpu), my)) << "forget, memory dy, decay " << k.decay;
  }
}

}  // namespace
}  // namespace frugal
