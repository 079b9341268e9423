// Folding ReLUs into the BatchNorm/Add before them (training/relu_folding.h): where it applies, and that
// it changes neither a result nor the memory a step needs.
#include "training/relu_folding.h"

#include <gtest/gtest.h>

#include <vector>

#include "training/executor.h"
#include "training/models/model_builder.h"
#include "training/modes/exact.h"
#include "training/modes/fewbit.h"
#include "tests/training/executor_test_util.h"

namespace frugal {
namespace {

const ActivationSpec kRelu = default_activation_spec(ActivationKind::ReLU);

// conv-BN-ReLU, a residual block ending in Add-ReLU, and a BN read by both a ReLU and an Add.
std::unique_ptr<Graph> residual_relu_cnn(uint64_t seed) {
  ModelBuilder b(seed, Shape{3, 8, 8});
  int x = b.conv("conv1", b.input(), 4, 3, 1, 1, false);
  x = b.batchnorm("bn1", x);
  x = b.activation("relu", x, kRelu);
  int y = b.conv("block.conv1", x, 6, 3, 2, 1, false);
  y = b.batchnorm("block.bn1", y);
  y = b.activation("block.relu1", y, kRelu);
  y = b.conv("block.conv2", y, 6, 3, 1, 1, false);
  y = b.batchnorm("block.bn2", y);
  int s = b.conv("block.downsample.0", x, 6, 1, 2, 0, false);
  s = b.batchnorm("block.downsample.1", s);
  y = b.add("block.add", y, s);
  y = b.activation("block.relu2", y, kRelu);
  int t = b.batchnorm("shared_bn", y);
  int r = b.activation("shared_relu", t, kRelu);
  y = b.add("shared_add", r, t);
  y = b.global_avgpool("pool", y);
  b.linear("fc", y, 5);
  return b.finish();
}

// A mode whose backward is not the layer's own (as far as folding can tell).
class OpaqueMode : public ExactMode {
 public:
  bool reproduces_exact_backward(const Layer&) const override { return false; }
};

using test::Batch;
using test::exact_modes;

// Pairs (producer name, ReLU name) that find_relu_folds chose.
std::vector<std::pair<std::string, std::string>> folded_pairs(Graph& g,
                                                              const std::vector<std::unique_ptr<BackwardMode>>& m,
                                                              bool training) {
  std::vector<std::pair<std::string, std::string>> pairs;
  const std::vector<int> folds = find_relu_folds(g, m, training);
  for (int i = 0; i < g.size(); ++i)
    if (folds[i] >= 0) pairs.emplace_back(g.layer(i).name(), g.layer(folds[i]).name());
  return pairs;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(ReluFolding, FoldsEachReluThatIsTheOnlyReaderOfABatchNormOrAdd) {
  auto g = residual_relu_cnn(1);
  g->setup(Shape{2, 3, 8, 8});
  const Pairs want = {{"bn1", "relu"}, {"block.bn1", "block.relu1"}, {"block.add", "block.relu2"}};
  EXPECT_EQ(folded_pairs(*g, exact_modes(*g), true), want);  // shared_bn is read by the Add too
  EXPECT_EQ(folded_pairs(*g, {}, false), want);               // evaluation: modes do not matter
}

TEST(ReluFolding, NeedsBothBackwardsToBeExact) {
  auto g = residual_relu_cnn(1);
  g->setup(Shape{2, 3, 8, 8});
  auto modes = exact_modes(*g);
  modes[g->find("bn1")] = std::make_unique<OpaqueMode>();
  modes[g->find("block.relu1")] = std::make_unique<OpaqueMode>();
  EXPECT_EQ(folded_pairs(*g, modes, true), (Pairs{{"block.add", "block.relu2"}}));
}

TEST(ReluFolding, FewbitReluFoldsIntoBatchNormButNotIntoAdd) {
  // Few-bit ReLU is exact (a 1-bit mask) and keeps nothing: the BN recomputes the mask from its input,
  // but the Add would need relu(a + b), which fewbit does not keep.
  auto g = residual_relu_cnn(1);
  g->setup(Shape{2, 3, 8, 8});
  auto modes = exact_modes(*g);
  for (const char* name : {"relu", "block.relu2"})
    modes[g->find(name)] = std::make_unique<FewbitMode>(g->layer(g->find(name)), 2, FewbitWeighting::Normal);
  EXPECT_EQ(folded_pairs(*g, modes, true), (Pairs{{"bn1", "relu"}, {"block.bn1", "block.relu1"}}));
}

Batch random_batch(int64_t n, uint64_t seed) { return test::random_batch(n, Shape{3, 8, 8}, 5, seed, 7); }

// Losses, gradients and updated weights of three training steps (plain SGD in between) and an
// evaluation, with or without folding.
struct Trace {
  std::vector<float> losses;
  std::vector<std::vector<float>> tensors;
  size_t peak_bytes = 0;  // most bytes live at once: what the best placement needs
};

Trace run(bool fold) {
  auto g = residual_relu_cnn(5);
  Executor ex(*g, exact_modes(*g), "static", 5);
  ex.set_relu_folding(fold);
  Trace t;
  auto snapshot = [&](const Tensor& v) { t.tensors.emplace_back(v.f32(), v.f32() + v.numel()); };
  for (uint64_t step = 0; step < 3; ++step) {
    const Batch b = random_batch(6, step);
    t.losses.push_back(ex.train_step(b.images, b.labels, step, 0).loss);
    for (Parameter* p : g->trainable_parameters()) {
      snapshot(p->grad);
      for (int64_t i = 0; i < p->value.numel(); ++i) p->value.f32()[i] -= 0.1f * p->grad.f32()[i];
    }
  }
  for (Parameter* p : g->parameters())
    if (p->value.dtype() == DType::F32) snapshot(p->value);
  const Batch b = random_batch(6, 9);
  t.losses.push_back(ex.evaluate(b.images, b.labels).loss);
  t.peak_bytes = lower_bound_bytes(ex.training_plan(6).step);
  return t;
}

TEST(ReluFolding, TrainingAndEvaluationAreBitIdenticalToUnfoldedLayers) {
  const Trace folded = run(true), unfolded = run(false);
  EXPECT_EQ(folded.losses, unfolded.losses);
  ASSERT_EQ(folded.tensors.size(), unfolded.tensors.size());
  for (size_t i = 0; i < folded.tensors.size(); ++i) EXPECT_EQ(folded.tensors[i], unfolded.tensors[i]) << i;
  EXPECT_LE(folded.peak_bytes, unfolded.peak_bytes);
}

TEST(ReluFolding, FoldedProducerStoresNeitherItsOutputNorItsGradient) {
  auto g = residual_relu_cnn(5);
  Executor ex(*g, exact_modes(*g), "static", 5);
  const StepPlan& plan = ex.training_plan(4);
  for (const char* name : {"bn1", "block.bn1", "block.add"}) {
    const NodeBuffers& nb = plan.nodes[g->find(name)];
    EXPECT_EQ(nb.output, kNoBuffer) << name;
    EXPECT_EQ(nb.output_grad, kNoBuffer) << name;
    EXPECT_GE(nb.folds, 0) << name;
  }
  const NodeBuffers& shared = plan.nodes[g->find("shared_bn")];
  EXPECT_NE(shared.output, kNoBuffer);
  EXPECT_EQ(shared.folds, -1);
}

}  // namespace
}  // namespace frugal
