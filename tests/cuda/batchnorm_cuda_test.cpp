// The CUDA batch-norm and bias-gradient kernels against the CPU kernels on random inputs: outputs
// elementwise, per-channel sums against float64, eval and train, affine or not, folded ReLU,
// accumulating parameter gradients, odd shapes and more channels than one reduction block covers; and
// the same bits twice (fixed-order reductions).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/rng.h"
#include "tests/cuda/dense_test_util.h"

namespace frugal {
namespace {

using test::max_relative_error;
using test::to_double;
using testing::cpu_kernels;
using testing::kElementwiseTolerance;
using testing::kReductionTolerance;
using testing::OnGpu;

constexpr float kEps = 1e-5f, kMomentum = 0.1f;

struct BnShape {
  int64_t n, c, s;
  int64_t numel() const { return n * c * s; }
  std::string str() const { return std::to_string(n) + "x" + std::to_string(c) + "x" + std::to_string(s); }
};
// Odd sizes, BatchNorm1d, one sample, a CIFAR-sized layer (several partial sums per channel), and
// many channels of few values (more than the scratch holds at once: two channel groups).
const BnShape kShapes[] = {{2, 3, 5}, {4, 2, 1}, {1, 3, 7}, {3, 2, 71}, {64, 16, 1024}, {128, 700, 1}, {2, 66000, 1}};

std::vector<float> normal(size_t n, uint64_t step, float mean = 0.0f, float stddev = 1.0f) {
  std::vector<float> v(n);
  rng_normal(rng_key(31, RngStream::Test, step), v.data(), n, mean, stddev);
  return v;
}

struct Params {
  std::vector<float> gamma, beta, running_mean, running_var;
};
Params params(const BnShape& sh) {
  return {normal(sh.c, 1, 1.0f, 0.5f), normal(sh.c, 2, 0.1f, 0.5f), normal(sh.c, 3), std::vector<float>(sh.c, 1.5f)};
}

void expect_elementwise(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  EXPECT_LT(max_relative_error(got, to_double(want)), kElementwiseTolerance) << what;
}

TEST(BatchNormCuda, TrainingForwardMatchesTheCpu) {
  FRUGAL_REQUIRE_GPU(cuda);
  for (const BnShape& sh : kShapes)
    for (bool affine : {true, false})
      for (bool relu : {false, true}) {
        const std::string what = sh.str() + (affine ? " affine" : "") + (relu ? " relu" : "");
        const std::vector<float> x = normal(sh.numel(), 4, 3.0f, 2.0f);
        Params p = params(sh);
        std::vector<float> y(x.size()), mean(sh.c), invstd(sh.c);
        const OnGpu<float> gx(x), gg(p.gamma), gb(p.beta);
        OnGpu<float> grm(p.running_mean), grv(p.running_var), gy(testing::nan_filled(x.size()));
        OnGpu<float> gmean(testing::nan_filled(sh.c)), ginvstd(testing::nan_filled(sh.c));
        cpu_kernels().batchnorm_forward_train(sh.n, sh.c, sh.s, x.data(), affine ? p.gamma.data() : nullptr,
                                              affine ? p.beta.data() : nullptr, kEps, kMomentum, p.running_mean.data(),
                                              p.running_var.data(), y.data(), mean.data(), invstd.data(), relu);
        cuda->batchnorm_forward_train(sh.n, sh.c, sh.s, gx.get(), affine ? gg.get() : nullptr,
                                      affine ? gb.get() : nullptr, kEps, kMomentum, grm.get(), grv.get(), gy.get(),
                                      gmean.get(), ginvstd.get(), relu);
        expect_elementwise(gy.host(), y, what + ": y");
        expect_elementwise(gmean.host(), mean, what + ": mean");
        expect_elementwise(ginvstd.host(), invstd, what + ": invstd");
        expect_elementwise(grm.host(), p.running_mean, what + ": running mean");
        expect_elementwise(grv.host(), p.running_var, what + ": running var");
      }
}

TEST(BatchNormCuda, TrainingNeedsMoreThanOneValuePerChannel) {
  FRUGAL_REQUIRE_GPU(cuda);
  const OnGpu<float> x(std::vector<float>{1.0f, 2.0f});
  OnGpu<float> y(std::vector<float>(2)), mean(std::vector<float>(2)), invstd(std::vector<float>(2));
  EXPECT_THROW(cuda->batchnorm_forward_train(1, 2, 1, x.get(), nullptr, nullptr, kEps, kMomentum, nullptr, nullptr,
                                             y.get(), mean.get(), invstd.get(), false),
               ShapeError);
}

TEST(BatchNormCuda, InferenceForwardMatchesTheCpu) {
  FRUGAL_REQUIRE_GPU(cuda);
  for (const BnShape& sh : kShapes)
    for (bool relu : {false, true}) {
      const std::vector<float> x = normal(sh.numel(), 5);
      const Params p = params(sh);
      std::vector<float> y(x.size());
      const OnGpu<float> gx(x), gg(p.gamma), gb(p.beta), grm(p.running_mean), grv(p.running_var);
      OnGpu<float> gy(testing::nan_filled(x.size()));
      cpu_kernels().batchnorm_forward_eval(sh.n, sh.c, sh.s, x.data(), p.gamma.data(), p.beta.data(), kEps,
                                           p.running_mean.data(), p.running_var.data(), y.data(), relu);
      cuda->batchnorm_forward_eval(sh.n, sh.c, sh.s, gx.get(), gg.get(), gb.get(), kEps, grm.get(), grv.get(), gy.get(),
                                   relu);
      expect_elementwise(gy.host(), y, sh.str() + (relu ? " relu" : ""));
    }
}

// The saved statistics of a training forward, computed on the CPU and used by both devices.
struct Saved {
  std::vector<float> y, mean, invstd;
};
Saved forward(const BnShape& sh, const std::vector<float>& x, const Params& p, bool relu) {
  Saved s{std::vector<float>(x.size()), std::vector<float>(sh.c), std::vector<float>(sh.c)};
  cpu_kernels().batchnorm_forward_train(sh.n, sh.c, sh.s, x.data(), p.gamma.data(), p.beta.data(), kEps, kMomentum,
                                        nullptr, nullptr, s.y.data(), s.mean.data(), s.invstd.data(), relu);
  return s;
}

// dgamma, dbeta in float64 from the saved statistics: sum(dy * xhat), sum(dy).
void reference_param_grads(const BnShape& sh, const std::vector<float>& x, const std::vector<float>& dy, const Saved& s,
                           std::vector<double>& dgamma, std::vector<double>& dbeta) {
  dgamma.assign(sh.c, 0.0);
  dbeta.assign(sh.c, 0.0);
  for (int64_t i = 0; i < sh.numel(); ++i) {
    const int64_t ch = (i / sh.s) % sh.c;
    dbeta[ch] += dy[i];
    dgamma[ch] += static_cast<double>(dy[i]) * (x[i] - static_cast<double>(s.mean[ch])) * s.invstd[ch];
  }
}

TEST(BatchNormCuda, BackwardMatchesTheCpuAndItsSumsMatchFloat64) {
  FRUGAL_REQUIRE_GPU(cuda);
  for (const BnShape& sh : kShapes)
    for (bool accumulate : {false, true}) {
      const std::string what = sh.str() + (accumulate ? " accumulate" : "");
      const std::vector<float> x = normal(sh.numel(), 6, -1.0f, 3.0f), dy = normal(sh.numel(), 7);
      const Params p = params(sh);
      const Saved s = forward(sh, x, p, false);
      const std::vector<float> start_g = normal(sh.c, 8), start_b = normal(sh.c, 9);
      std::vector<float> dx(x.size()), dgamma = start_g, dbeta = start_b;
      cpu_kernels().batchnorm_backward(sh.n, sh.c, sh.s, x.data(), dy.data(), p.gamma.data(), s.mean.data(),
                                       s.invstd.data(), dx.data(), dgamma.data(), dbeta.data(), accumulate);
      const OnGpu<float> gx(x), gdy(dy), gg(p.gamma), gmean(s.mean), ginvstd(s.invstd);
      OnGpu<float> gdx(testing::nan_filled(x.size())), gdgamma(start_g), gdbeta(start_b);
      cuda->batchnorm_backward(sh.n, sh.c, sh.s, gx.get(), gdy.get(), gg.get(), gmean.get(), ginvstd.get(), gdx.get(),
                               gdgamma.get(), gdbeta.get(), accumulate);
      expect_elementwise(gdx.host(), dx, what + ": dx");
      expect_elementwise(gdgamma.host(), dgamma, what + ": dgamma");
      expect_elementwise(gdbeta.host(), dbeta, what + ": dbeta");
      if (!accumulate) {
        std::vector<double> ref_g, ref_b;
        reference_param_grads(sh, x, dy, s, ref_g, ref_b);
        EXPECT_LT(max_relative_error(gdgamma.host(), ref_g), kReductionTolerance) << what;
        EXPECT_LT(max_relative_error(gdbeta.host(), ref_b), kReductionTolerance) << what;
      }
    }
}

TEST(BatchNormCuda, BackwardFromXhatMatchesTheCpu) {
  FRUGAL_REQUIRE_GPU(cuda);
  for (const BnShape& sh : kShapes) {
    const std::vector<float> x = normal(sh.numel(), 10), dy = normal(sh.numel(), 11);
    const Params p = params(sh);
    Params unit = p;
    unit.gamma.assign(sh.c, 1.0f);
    unit.beta.assign(sh.c, 0.0f);
    const Saved s = forward(sh, x, unit, false);  // y = xhat
    std::vector<float> dx(x.size()), dgamma(sh.c), dbeta(sh.c);
    cpu_kernels().batchnorm_backward_from_xhat(sh.n, sh.c, sh.s, s.y.data(), dy.data(), p.gamma.data(), s.invstd.data(),
                                               dx.data(), dgamma.data(), dbeta.data(), false);
    const OnGpu<float> gxhat(s.y), gdy(dy), gg(p.gamma), ginvstd(s.invstd);
    OnGpu<float> gdx(testing::nan_filled(x.size())), gdgamma(testing::nan_filled(sh.c)),
        gdbeta(testing::nan_filled(sh.c));
    cuda->batchnorm_backward_from_xhat(sh.n, sh.c, sh.s, gxhat.get(), gdy.get(), gg.get(), ginvstd.get(), gdx.get(),
                                       gdgamma.get(), gdbeta.get(), false);
    expect_elementwise(gdx.host(), dx, sh.str() + ": dx");
    expect_elementwise(gdgamma.host(), dgamma, sh.str() + ": dgamma");
    expect_elementwise(gdbeta.host(), dbeta, sh.str() + ": dbeta");
  }
}

TEST(BatchNormCuda, FusedReluBackwardMatchesTheCpuWithAndWithoutDx) {
  FRUGAL_REQUIRE_GPU(cuda);
  for (const BnShape& sh : kShapes)
    for (bool with_dx : {true, false}) {
      const std::string what = sh.str() + (with_dx ? "" : " no dx");
      const std::vector<float> x = normal(sh.numel(), 12), dz = normal(sh.numel(), 13);
      const Params p = params(sh);
      const Saved s = forward(sh, x, p, true);
      std::vector<float> dx(x.size()), dgamma(sh.c), dbeta(sh.c);
      cpu_kernels().batchnorm_relu_backward(sh.n, sh.c, sh.s, x.data(), dz.data(), p.gamma.data(), p.beta.data(),
                                            s.mean.data(), s.invstd.data(), with_dx ? dx.data() : nullptr,
                                            dgamma.data(), dbeta.data());
      const OnGpu<float> gx(x), gdz(dz), gg(p.gamma), gb(p.beta), gmean(s.mean), ginvstd(s.invstd);
      OnGpu<float> gdx(testing::nan_filled(x.size())), gdgamma(testing::nan_filled(sh.c)),
          gdbeta(testing::nan_filled(sh.c));
      cuda->batchnorm_relu_backward(sh.n, sh.c, sh.s, gx.get(), gdz.get(), gg.get(), gb.get(), gmean.get(),
                                    ginvstd.get(), with_dx ? gdx.get() : nullptr, gdgamma.get(), gdbeta.get());
      if (with_dx) expect_elementwise(gdx.host(), dx, what + ": dx");
      expect_elementwise(gdgamma.host(), dgamma, what + ": dgamma");
      expect_elementwise(gdbeta.host(), dbeta, what + ": dbeta");
    }
}

TEST(BatchNormCuda, ReductionsGiveTheSameBitsTwice) {
  FRUGAL_REQUIRE_GPU(cuda);
  const BnShape sh{64, 16, 1024};
  const std::vector<float> x = normal(sh.numel(), 14), dy = normal(sh.numel(), 15);
  const Params p = params(sh);
  const OnGpu<float> gx(x), gdy(dy), gg(p.gamma), gb(p.beta);
  std::vector<float> first[5];
  for (int run = 0; run < 2; ++run) {
    OnGpu<float> gy(testing::nan_filled(x.size())), gmean(testing::nan_filled(sh.c)),
        ginvstd(testing::nan_filled(sh.c));
    OnGpu<float> gdx(testing::nan_filled(x.size())), gdg(testing::nan_filled(sh.c)), gdb(testing::nan_filled(sh.c));
    cuda->batchnorm_forward_train(sh.n, sh.c, sh.s, gx.get(), gg.get(), gb.get(), kEps, kMomentum, nullptr, nullptr,
                                  gy.get(), gmean.get(), ginvstd.get(), false);
    cuda->batchnorm_backward(sh.n, sh.c, sh.s, gx.get(), gdy.get(), gg.get(), gmean.get(), ginvstd.get(), gdx.get(),
                             gdg.get(), gdb.get(), false);
    const std::vector<float> now[5] = {gy.host(), ginvstd.host(), gdx.host(), gdg.host(), gdb.host()};
    for (int i = 0; i < 5; ++i) {
      if (run == 0) {
        first[i] = now[i];
      } else {
        EXPECT_TRUE(test::bit_identical(now[i], first[i])) << "output " << i;
      }
    }
  }
}

struct BiasShape {
  int64_t batch, channels, spatial;
};

TEST(BiasGradientCuda, MatchesTheCpuAndFloat64AndRepeatsBitForBit) {
  FRUGAL_REQUIRE_GPU(cuda);
  for (const BiasShape& sh : {BiasShape{7, 10, 1}, BiasShape{128, 1000, 1}, BiasShape{3, 5, 49},
                              BiasShape{128, 16, 1024}, BiasShape{2, 70000, 1}})
    for (bool accumulate : {false, true}) {
      const std::string what = std::to_string(sh.batch) + "x" + std::to_string(sh.channels) + "x" +
                               std::to_string(sh.spatial) + (accumulate ? " accumulate" : "");
      const std::vector<float> dy = normal(sh.batch * sh.channels * sh.spatial, 16), start = normal(sh.channels, 17);
      std::vector<float> db = start;
      std::vector<double> reference(sh.channels, 0.0);
      cpu_kernels().bias_gradient(sh.batch, sh.channels, sh.spatial, dy.data(), db.data(), accumulate);
      for (size_t i = 0; i < dy.size(); ++i) reference[(i / sh.spatial) % sh.channels] += dy[i];
      if (accumulate)
        for (int64_t c = 0; c < sh.channels; ++c) reference[c] += start[c];
      const OnGpu<float> gdy(dy);
      OnGpu<float> gdb(start), again(start);
      cuda->bias_gradient(sh.batch, sh.channels, sh.spatial, gdy.get(), gdb.get(), accumulate);
      cuda->bias_gradient(sh.batch, sh.channels, sh.spatial, gdy.get(), again.get(), accumulate);
      expect_elementwise(gdb.host(), db, what);
      EXPECT_LT(max_relative_error(gdb.host(), reference), kReductionTolerance) << what;
      EXPECT_TRUE(test::bit_identical(gdb.host(), again.host())) << what;
    }
}

}  // namespace
}  // namespace frugal
