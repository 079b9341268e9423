// Profiling the exact mode (`profile --time`) splits Conv2d/Linear backward into its data and weight
// pieces: the gradients must stay bit-identical to the untimed backward, and only weighted layers report
// weight-gradient time.
#include <gtest/gtest.h>

#include <cstring>

#include "training/executor.h"
#include "training/models/model_builder.h"
#include "training/modes/exact.h"

namespace frugal {
namespace {

std::unique_ptr<Graph> conv_bn_linear(uint64_t seed) {
  ModelBuilder b(seed, Shape{3, 8, 8});
  int x = b.conv("conv1", b.input(), 4, 3, 1, 1, true);
  x = b.batchnorm("bn1", x);
  x = b.activation("relu", x, default_activation_spec(ActivationKind::ReLU));
  x = b.conv("conv2", x, 6, 3, 2, 1, false);
  x = b.global_avgpool("pool", x);
  b.linear("fc", x, 5);
  return b.finish();
}

std::unique_ptr<Executor> exact_executor(Graph& g) {
  std::vector<std::unique_ptr<BackwardMode>> modes;
  for (int i = 0; i < g.size(); ++i) modes.push_back(std::make_unique<ExactMode>());
  return std::make_unique<Executor>(g, std::move(modes), "static", 5);
}

TEST(ExactTiming, TimedBackwardGivesBitIdenticalGradientsAndTimesOnlyWeightGradients) {
  auto plain_graph = conv_bn_linear(4), timed_graph = conv_bn_linear(4);
  auto plain = exact_executor(*plain_graph), timed = exact_executor(*timed_graph);
  timed->set_timing(true);
  Tensor images = Tensor::empty({6, 3, 8, 8}), labels = Tensor::empty({6}, DType::I32);
  rng_normal(rng_key(9, RngStream::Test, 1), images.f32(), images.numel());
  for (int32_t i = 0; i < 6; ++i) labels.data<int32_t>()[i] = i % 5;
  for (uint64_t step = 0; step < 2; ++step) {
    plain->train_step(images, labels, step, 0);
    timed->train_step(images, labels, step, 0);
  }
  auto a = plain_graph->trainable_parameters(), b = timed_graph->trainable_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(std::memcmp(a[i]->grad.raw(), b[i]->grad.raw(), a[i]->grad.nbytes()), 0) << a[i]->name;
  for (int i = 0; i < timed_graph->size(); ++i) {
    const NodeTiming& t = timed->node_timings()[i];
    const bool weighted = dynamic_cast<WeightedLayer*>(&timed_graph->layer(i)) != nullptr;
    if (weighted) {
      EXPECT_GT(t.backward_weight, 0.0) << timed_graph->layer(i).name();
      EXPECT_LE(t.backward_weight, t.backward) << timed_graph->layer(i).name();
    } else {
      EXPECT_EQ(t.backward_weight, 0.0) << timed_graph->layer(i).name();
    }
  }
  // Switching timing off detaches the sink: later steps report nothing.
  timed->set_timing(false);
  timed->train_step(images, labels, 2, 0);
  for (int i = 0; i < timed_graph->size(); ++i) EXPECT_EQ(timed->node_timings()[i].backward_weight, 0.0);
}

}  // namespace
}  // namespace frugal
