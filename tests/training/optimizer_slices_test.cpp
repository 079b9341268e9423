// Optimizers over slices of parameters (training/optim/parameter_slice.h): what a rank updates when the
// optimizer state is sharded. Updating the slices, with their gradients kept elsewhere, gives the whole
// parameter's update bit for bit; the state holds the slices' elements only.
#include <gtest/gtest.h>

#include "core/error.h"
#include "training/optim/adamw.h"
#include "training/optim/sgd.h"
#include "tests/training/optim_test_util.h"

namespace frugal {
namespace {

using optim_test::make_param;
using optim_test::set_gradients;
using optim_test::values_of;

std::vector<float> initial(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = 0.1f * static_cast<float>(i) - 0.7f;
  return v;
}

TEST(OptimizerSlices, TwoSlicesWithSeparateGradientsGiveTheWholeUpdate) {
  for (const char* name : {"sgd", "adamw"}) {
    Parameter whole = make_param("w", initial(23)), sliced = make_param("w", initial(23));
    // The sliced parameter's gradient lives in two buffers of its own, as a reduce-scatter leaves it.
    Tensor grad_a = Tensor::empty({9}), grad_b = Tensor::empty({14});
    auto build = [&](std::vector<ParameterSlice> p) {
      return std::string(name) == "sgd" ? make_sgd_for_slices(std::move(p), SgdOptions{0.9f, 0.0f, 1e-2f, true})
                                        : make_adamw_for_slices(std::move(p), AdamWOptions{});
    };
    auto reference = build({&whole});
    auto first = build({ParameterSlice(&sliced, 0, 9, grad_a)});
    auto second = build({ParameterSlice(&sliced, 9, 14, grad_b)});
    for (int step = 0; step < 4; ++step) {
      set_gradients({&whole}, step);
      std::copy(whole.grad.f32(), whole.grad.f32() + 9, grad_a.f32());
      std::copy(whole.grad.f32() + 9, whole.grad.f32() + 23, grad_b.f32());
      reference->step(0.05f);
      first->step(0.05f);
      second->step(0.05f);
    }
    EXPECT_EQ(values_of(sliced.value), values_of(whole.value)) << name;
    // State entries keep the parameter's name with the slice's elements.
    for (const auto& [entry, t] : first->state())
      if (entry != "step") {
        EXPECT_EQ(t.shape(), Shape({9})) << name << " " << entry;
      }
    EXPECT_LT(first->state_bytes() + second->state_bytes(), reference->state_bytes() + 1);
  }
}

TEST(OptimizerSlices, ASliceOutsideItsParameterIsRefused) {
  Parameter p = make_param("w", initial(8));
  EXPECT_THROW(make_sgd_for_slices({ParameterSlice(&p, 5, 4)}, SgdOptions{}), InternalError);
}

// A parameter split over several gradient buckets gives each rank one slice per bucket: one optimizer
// then holds several slices of it, whose state is one entry per buffer with their elements end to end.
TEST(OptimizerSlices, SeveralSlicesOfOneParameterShareOneEntry) {
  for (const char* name : {"sgd", "adamw"}) {
    Parameter whole = make_param("w", initial(23)), sliced = make_param("w", initial(23));
    Tensor grads[4] = {Tensor::empty({5}), Tensor::empty({7}), Tensor::empty({6}), Tensor::empty({5})};
    const int64_t begins[4] = {0, 5, 12, 18};
    auto build = [&](std::vector<ParameterSlice> p) {
      return std::string(name) == "sgd" ? make_sgd_for_slices(std::move(p), SgdOptions{0.9f, 0.0f, 1e-2f, true})
                                        : make_adamw_for_slices(std::move(p), AdamWOptions{});
    };
    auto reference = build({&whole});
    // "Rank 0" holds slices 0 and 2, "rank 1" slices 1 and 3.
    auto even = build({ParameterSlice(&sliced, 0, 5, grads[0]), ParameterSlice(&sliced, 12, 6, grads[2])});
    auto odd = build({ParameterSlice(&sliced, 5, 7, grads[1]), ParameterSlice(&sliced, 18, 5, grads[3])});
    for (int step = 0; step < 4; ++step) {
      set_gradients({&whole}, step);
      for (int k = 0; k < 4; ++k)
        std::copy(whole.grad.f32() + begins[k], whole.grad.f32() + begins[k] + grads[k].numel(), grads[k].f32());
      reference->step(0.05f);
      even->step(0.05f);
      odd->step(0.05f);
    }
    EXPECT_EQ(values_of(sliced.value), values_of(whole.value)) << name;
    const NamedTensors full = reference->state(), mine = even->state();
    ASSERT_EQ(mine.size(), full.size()) << name;
    for (size_t i = 0; i < mine.size(); ++i) {
      ASSERT_EQ(mine[i].first, full[i].first);
      if (mine[i].first == "step") continue;
      ASSERT_EQ(mine[i].second.shape(), Shape({11})) << name << " " << mine[i].first;
      const float* f = full[i].second.f32();
      std::vector<float> expected(f, f + 5);
      expected.insert(expected.end(), f + 12, f + 18);
      EXPECT_EQ(values_of(mine[i].second), expected) << name << " " << mine[i].first;
    }
    // The entries load back into another optimizer over the same slices.
    auto again = build({ParameterSlice(&sliced, 0, 5, grads[0]), ParameterSlice(&sliced, 12, 6, grads[2])});
    again->load_state(even->state());
    for (size_t i = 0; i < mine.size(); ++i)
      if (mine[i].first != "step") {
        EXPECT_EQ(values_of(again->state()[i].second), values_of(mine[i].second));
      }
    // Overlapping or descending slices are refused.
    EXPECT_THROW(build({ParameterSlice(&sliced, 0, 6), ParameterSlice(&sliced, 5, 3)}), InternalError);
    EXPECT_THROW(build({ParameterSlice(&sliced, 12, 6), ParameterSlice(&sliced, 0, 5)}), InternalError);
  }
}

}  // namespace
}  // namespace frugal
