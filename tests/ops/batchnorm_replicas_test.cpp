// BatchNorm with statistics over several data-parallel replicas (ops/norm.h, set_replica_sum): two
// BatchNorm layers in two threads, each with half of a batch and a ReplicaSum that adds their values,
// behave as one BatchNorm on the whole batch.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "core/rng.h"
#include "ops/norm.h"


namespace frugal {
namespace {

// Replicas in threads of one process: sum() waits until every replica gave its values, and each gets
// the sum, added in replica order.
class ThreadReplicas {
 public:
  explicit ThreadReplicas(int n) : n_(n), parts_(static_cast<size_t>(n)) {}

  class Member final : public ReplicaSum {
   public:
    Member(ThreadReplicas& group, int index) : group_(group), index_(index) {}
    void sum(double* values, int64_t n, const std::string&) override { group_.sum(index_, values, n); }

   private:
    ThreadReplicas& group_;
    int index_;
  };

 private:
  void sum(int index, double* values, int64_t n) {
    std::unique_lock<std::mutex> lock(mutex_);
    const uint64_t round = round_;
    parts_[static_cast<size_t>(index)].assign(values, values + n);
    if (++arrived_ == n_) {
      total_.assign(static_cast<size_t>(n), 0.0);
      for (const auto& part : parts_)
        for (int64_t i = 0; i < n; ++i) total_[static_cast<size_t>(i)] += part[static_cast<size_t>(i)];
      arrived_ = 0;
      ++round_;
      changed_.notify_all();
    } else {
      changed_.wait(lock, [&] { return round_ != round; });
    }
    std::copy(total_.begin(), total_.end(), values);
  }

  int n_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::vector<double>> parts_;
  std::vector<double> total_;
  int arrived_ = 0;
  uint64_t round_ = 0;
};

struct BnRun {
  Tensor y, dx;
  std::vector<float> dgamma, dbeta, running_mean, running_var;
};

// One training forward and backward of BatchNorm2d(c) on x [n, c, h, w] (gamma, beta set), with `dy`.
BnRun run_bn(const Tensor& x, const Tensor& dy, ReplicaSum* replicas) {
  const int64_t c = x.dim(1);
  BatchNorm bn("bn", c, true);
  for (int64_t i = 0; i < c; ++i) {
    bn.gamma().value.f32()[i] = 0.5f + 0.25f * static_cast<float>(i);
    bn.beta().value.f32()[i] = 0.1f * static_cast<float>(i);
  }
  bn.set_replica_sum(replicas);
  bn.setup({x.shape()});
  BnRun r;
  r.y = Tensor::empty(x.shape());
  r.dx = Tensor::empty(x.shape());
  Tensor mean = Tensor::empty({c}), invstd = Tensor::empty({c});
  ForwardArgs f;
  f.inputs = {&x};
  f.output = &r.y;
  f.aux = {&mean, &invstd};
  bn.forward(f);
  BackwardArgs b;
  b.inputs = {&x};
  b.aux = {&mean, &invstd};
  b.grad_output = &dy;
  b.grad_inputs = {&r.dx};
  bn.backward(b);
  const auto params = bn.parameters();
  auto values = [](const Tensor& t) { return std::vector<float>(t.f32(), t.f32() + t.numel()); };
  r.dgamma = values(bn.gamma().grad);
  r.dbeta = values(bn.beta().grad);
  r.running_mean = values(params[2]->value);
  r.running_var = values(params[3]->value);
  return r;
}

Tensor random_tensor(const Shape& shape, uint64_t step, float mean) {
  Tensor t = Tensor::empty(shape);
  rng_normal(rng_key(5, RngStream::Test, step), t.f32(), static_cast<size_t>(t.numel()), mean, 2.0f);
  return t;
}

double max_rel(const float* got, const float* want, int64_t n) {
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < n; ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(got[i]) - want[i]));
    scale = std::max(scale, std::abs(static_cast<double>(want[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

TEST(BatchNormReplicas, TwoHalfBatchesMatchTheWholeBatch) {
  const Shape whole{6, 3, 4, 5}, half{3, 3, 4, 5};
  // Channel means far from zero and different halves: the statistics of one half are not the batch's.
  const Tensor x = random_tensor(whole, 1, 3.0f), dy = random_tensor(whole, 2, 0.5f);
  const BnRun one = run_bn(x, dy, nullptr);

  ThreadReplicas group(2);
  ThreadReplicas::Member m0(group, 0), m1(group, 1);
  BnRun parts[2];
  std::thread t1([&] { parts[1] = run_bn(x.slice0(3, 6), dy.slice0(3, 6), &m1); });
  parts[0] = run_bn(x.slice0(0, 3), dy.slice0(0, 3), &m0);
  t1.join();

  // Forward and data gradient per half against the whole batch's rows: float32 rounding only (the
  // statistics are combined in double, in another order).
  const int64_t per_half = half.numel();
  for (int p = 0; p < 2; ++p) {
    EXPECT_LT(max_rel(parts[p].y.f32(), one.y.f32() + p * per_half, per_half), 1e-5) << "y, half " << p;
    EXPECT_LT(max_rel(parts[p].dx.f32(), one.dx.f32() + p * per_half, per_half), 1e-5) << "dx, half " << p;
    // Running statistics move with the global batch on every replica.
    EXPECT_LT(max_rel(parts[p].running_mean.data(), one.running_mean.data(), 3), 1e-6);
    EXPECT_LT(max_rel(parts[p].running_var.data(), one.running_var.data(), 3), 1e-6);
  }
  // Each replica's parameter gradients are its own sums: together, the whole batch's.
  for (int64_t ch = 0; ch < 3; ++ch) {
    EXPECT_NEAR(parts[0].dgamma[ch] + parts[1].dgamma[ch], one.dgamma[ch], 1e-4 * std::abs(one.dgamma[ch]) + 1e-5);
    EXPECT_NEAR(parts[0].dbeta[ch] + parts[1].dbeta[ch], one.dbeta[ch], 1e-4 * std::abs(one.dbeta[ch]) + 1e-5);
  }

  // Without the replica sums each half normalises with its own statistics: clearly different.
  const BnRun local = run_bn(x.slice0(0, 3), dy.slice0(0, 3), nullptr);
  EXPECT_GT(max_rel(local.y.f32(), one.y.f32(), per_half), 1e-2);
}

}  // namespace
}  // namespace frugal
