// The CUDA elementwise, activation, dropout, optimizer and feedback-fill kernels against the CPU
// kernels on random inputs, through the Kernels interface.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/rng.h"
#include "ops/feedback_fill.h"
#include "tests/cuda/dense_test_util.h"

namespace frugal {
namespace {

using test::max_relative_error;
using test::random_floats;
using test::to_double;
using testing::cpu_kernels;
using testing::kElementwiseTolerance;
using testing::OnGpu;

constexpr int64_t kOddLength = 100003;  // not a multiple of any block or vector width

TEST(ElementwiseCuda, BinaryAndCopyKernelsMatchTheCpu) {
  FRUGAL_REQUIRE_GPU(cuda);
  const int64_t n = kOddLength;
  const std::vector<float> a = random_floats(n, 1, 0), b = random_floats(n, 1, 1);
  const OnGpu<float> ga(a), gb(b);
  auto expect = [&](const std::vector<float>& got, const std::vector<float>& want, const char* what) {
    EXPECT_LT(max_relative_error(got, to_double(want)), kElementwiseTolerance) << what;
  };
  {
    std::vector<float> want(n);
    OnGpu<float> y(testing::nan_filled(n));
    cpu_kernels().add(n, a.data(), b.data(), want.data());
    cuda->add(n, ga.get(), gb.get(), y.get());
    expect(y.host(), want, "add");
  }
  {
    std::vector<float> want = a;
    OnGpu<float> y(a);
    cpu_kernels().add_inplace(n, want.data(), b.data());
    cuda->add_inplace(n, y.get(), gb.get());
    expect(y.host(), want, "add_inplace");
    cpu_kernels().scale(n, -0.37f, want.data(), want.data());  // in place, as allowed
    cuda->scale(n, -0.37f, y.get(), y.get());
    expect(y.host(), want, "scale in place");
  }
  {
    std::vector<float> want(n);
    OnGpu<float> z(testing::nan_filled(n));
    cpu_kernels().add_relu(n, a.data(), b.data(), want.data());
    cuda->add_relu(n, ga.get(), gb.get(), z.get());
    expect(z.host(), want, "add_relu");
  }
  {
    OnGpu<float> y(testing::nan_filled(n)), y2(testing::nan_filled(n)), y3(testing::nan_filled(n));
    cuda->copy(n, ga.get(), y.get());
    expect(y.host(), a, "copy");
    cuda->copy_to_two(n, gb.get(), y2.get(), y3.get());
    expect(y2.host(), b, "copy_to_two (first)");
    expect(y3.host(), b, "copy_to_two (second)");
    cuda->copy_to_two(n, ga.get(), nullptr, y3.get());
    expect(y3.host(), a, "copy_to_two (second only)");
  }
}

TEST(ElementwiseCuda, ReluGradToTwoMatchesTheCpuWithEitherOutputAbsent) {
  FRUGAL_REQUIRE_GPU(cuda);
  const int64_t n = kOddLength;
  const std::vector<float> z = random_floats(n, 2, 0), dz = random_floats(n, 2, 1);
  const OnGpu<float> gz(z), gdz(dz);
  std::vector<float> want(n);
  cpu_kernels().relu_grad_to_two(n, z.data(), dz.data(), want.data(), nullptr);
  for (int outputs = 0; outputs < 3; ++outputs) {  // both, only the first, only the second
    OnGpu<float> ya(testing::nan_filled(n)), yb(testing::nan_filled(n));
    cuda->relu_grad_to_two(n, gz.get(), gdz.get(), outputs == 2 ? nullptr : ya.get(),
                           outputs == 1 ? nullptr : yb.get());
    if (outputs != 2) {
      EXPECT_LT(max_relative_error(ya.host(), to_double(want)), kElementwiseTolerance) << outputs;
    }
    if (outputs != 1) {
      EXPECT_LT(max_relative_error(yb.host(), to_double(want)), kElementwiseTolerance) << outputs;
    }
  }
}

TEST(ElementwiseCuda, FillBytesAndIncrement) {
  FRUGAL_REQUIRE_GPU(cuda);
  OnGpu<uint8_t> bytes(std::vector<uint8_t>(1001, 0));
  cuda->fill_bytes(bytes.get(), 0xA5, 1000);
  const std::vector<uint8_t> got = bytes.host();
  for (size_t i = 0; i < 1000; ++i) ASSERT_EQ(got[i], 0xA5) << i;
  EXPECT_EQ(got[1000], 0);
  OnGpu<int64_t> counter(std::vector<int64_t>{41});
  cuda->increment(counter.get());
  cuda->increment(counter.get());
  EXPECT_EQ(counter.host()[0], 43);
}

std::vector<ActivationSpec> all_specs() {
  std::vector<ActivationSpec> specs;
  for (ActivationKind k :
       {ActivationKind::ReLU, ActivationKind::LeakyReLU, ActivationKind::GELU, ActivationKind::SiLU,
        ActivationKind::Tanh, ActivationKind::Sigmoid, ActivationKind::ELU, ActivationKind::Softplus})
    specs.push_back(default_activation_spec(k));
  specs.push_back({ActivationKind::LeakyReLU, 0.2f, 1.0f, 20.0f});
  specs.push_back({ActivationKind::ELU, 1.7f, 1.0f, 20.0f});
  specs.push_back({ActivationKind::Softplus, 0.01f, 2.0f, 3.0f});
  return specs;
}

TEST(ActivationCuda, EveryKindMatchesTheCpuForwardAndBackward) {
  FRUGAL_REQUIRE_GPU(cuda);
  const int64_t n = kOddLength;
  const std::vector<float> x = random_floats(n, 3, 0, -12.0f, 12.0f), dy = random_floats(n, 3, 1);
  const OnGpu<float> gx(x), gdy(dy);
  for (const ActivationSpec& a : all_specs()) {
    const std::string what = activation_name(a.kind) + std::string(" alpha=") + std::to_string(a.alpha);
    std::vector<float> y(n), dx(n), dx_out(n);
    cpu_kernels().activation_forward(a, n, x.data(), y.data());
    cpu_kernels().activation_backward(a, n, x.data(), dy.data(), dx.data());
    OnGpu<float> gy(testing::nan_filled(n)), gdx(testing::nan_filled(n));
    cuda->activation_forward(a, n, gx.get(), gy.get());
    cuda->activation_backward(a, n, gx.get(), gdy.get(), gdx.get());
    EXPECT_LT(max_relative_error(gy.host(), to_double(y)), kElementwiseTolerance) << what;
    EXPECT_LT(max_relative_error(gdx.host(), to_double(dx)), kElementwiseTolerance) << what;
    const bool from_output = a.kind == ActivationKind::ReLU || a.kind == ActivationKind::LeakyReLU ||
                             a.kind == ActivationKind::ELU || a.kind == ActivationKind::Sigmoid ||
                             a.kind == ActivationKind::Tanh;
    if (!from_output) {
      EXPECT_THROW(cuda->activation_backward_from_output(a, n, gy.get(), gdy.get(), gdx.get()), InternalError) << what;
      continue;
    }
    cpu_kernels().activation_backward_from_output(a, n, y.data(), dy.data(), dx_out.data());
    const OnGpu<float> gy_cpu(y);  // the same outputs on both devices
    cuda->activation_backward_from_output(a, n, gy_cpu.get(), gdy.get(), gdx.get());
    EXPECT_LT(max_relative_error(gdx.host(), to_double(dx_out)), kElementwiseTolerance) << what;
  }
}

TEST(DropoutCuda, DropsTheSameElementsAsTheCpuForTheSameKey) {
  FRUGAL_REQUIRE_GPU(cuda);
  const int64_t n = kOddLength;
  const std::vector<float> x = random_floats(n, 4, 0), dy = random_floats(n, 4, 1);
  const OnGpu<float> gx(x), gdy(dy);
  for (float p : {0.0f, 0.3f, 1.0f}) {
    const RngKey key = rng_key(9, RngStream::Dropout, 12);
    std::vector<float> y(n), dx(n);
    std::vector<uint8_t> mask(n);
    cpu_kernels().dropout_forward(n, p, key, x.data(), y.data(), mask.data());
    cpu_kernels().dropout_backward(n, p, dy.data(), mask.data(), dx.data());
    OnGpu<float> gy(testing::nan_filled(n)), gdx(testing::nan_filled(n));
    OnGpu<uint8_t> gmask(std::vector<uint8_t>(n, 7));
    cuda->dropout_forward(n, p, key, gx.get(), gy.get(), gmask.get());
    cuda->dropout_backward(n, p, gdy.get(), gmask.get(), gdx.get());
    EXPECT_EQ(gmask.host(), mask) << "p=" << p;
    EXPECT_LT(max_relative_error(gy.host(), to_double(y)), kElementwiseTolerance) << "p=" << p;
    EXPECT_LT(max_relative_error(gdx.host(), to_double(dx)), kElementwiseTolerance) << "p=" << p;
  }
  OnGpu<float> gy(x);
  OnGpu<uint8_t> gmask(std::vector<uint8_t>(n, 0));
  EXPECT_THROW(cuda->dropout_forward(n, 1.5f, rng_key(1, RngStream::Dropout), gx.get(), gy.get(), gmask.get()),
               ConfigError);
}

TEST(OptimizerCuda, SgdAndAdamWStepsMatchTheCpu) {
  FRUGAL_REQUIRE_GPU(cuda);
  const int64_t n = kOddLength;
  const std::vector<float> p0 = random_floats(n, 5, 0), g = random_floats(n, 5, 1), m0 = random_floats(n, 5, 2);
  const std::vector<float> v0 = random_floats(n, 5, 3, 0.0f, 0.01f);
  const OnGpu<float> gg(g);
  for (int variant = 0; variant < 4; ++variant) {  // plain; momentum first step; later step; Nesterov + decay
    SgdScalars s;
    s.neg_lr = -0.05f;
    s.momentum = variant == 0 ? 0.0f : 0.9f;
    s.keep = 0.95f;
    s.first_step = variant == 1;
    s.nesterov = variant == 3;
    s.weight_decay = variant == 3 ? 5e-4f : 0.0f;
    std::vector<float> p = p0, buf = m0;
    cpu_kernels().sgd_update(n, s, p.data(), g.data(), variant == 0 ? nullptr : buf.data());
    OnGpu<float> gp(p0), gbuf(m0);
    cuda->sgd_update(n, s, gp.get(), gg.get(), variant == 0 ? nullptr : gbuf.get());
    EXPECT_LT(max_relative_error(gp.host(), to_double(p)), kElementwiseTolerance) << "sgd variant " << variant;
    EXPECT_LT(max_relative_error(gbuf.host(), to_double(buf)), kElementwiseTolerance) << "sgd variant " << variant;
  }
  AdamWScalars s;
  s.decay = 1.0f - 1e-3f * 0.01f;
  s.neg_step_size = -1e-3f / (1.0f - 0.9f * 0.9f);
  s.bias_correction2_sqrt = std::sqrt(1.0f - 0.999f * 0.999f);
  std::vector<float> p = p0, m = m0, v = v0;
  cpu_kernels().adamw_update(n, s, p.data(), g.data(), m.data(), v.data());
  OnGpu<float> gp(p0), gm(m0), gv(v0);
  cuda->adamw_update(n, s, gp.get(), gg.get(), gm.get(), gv.get());
  EXPECT_LT(max_relative_error(gp.host(), to_double(p)), kElementwiseTolerance) << "adamw p";
  EXPECT_LT(max_relative_error(gm.host(), to_double(m)), kElementwiseTolerance) << "adamw m";
  EXPECT_LT(max_relative_error(gv.host(), to_double(v)), kElementwiseTolerance) << "adamw v";
}

TEST(FeedbackFillCuda, FillsTheSameMatricesAsTheCpu) {
  FRUGAL_REQUIRE_GPU(cuda);
  const uint64_t key = feedback_fill_key(5, 7, 3);
  for (int64_t n : {int64_t{1}, int64_t{7}, kOddLength}) {
    std::vector<float> uniform(n), normal(n);
    cpu_kernels().feedback_uniform(key, uniform.data(), n, 0.25f);
    cpu_kernels().feedback_normal(key, normal.data(), n, 0.1f);
    OnGpu<float> gu(testing::nan_filled(n)), gn(testing::nan_filled(n));
    cuda->feedback_uniform(key, gu.get(), n, 0.25f);
    cuda->feedback_normal(key, gn.get(), n, 0.1f);
    EXPECT_LT(max_relative_error(gu.host(), to_double(uniform)), kElementwiseTolerance) << n;
    EXPECT_LT(max_relative_error(gn.host(), to_double(normal)), kElementwiseTolerance) << n;
  }
}

}  // namespace
}  // namespace frugal
