// The named architectures: parameter counts against torchvision and the papers, parameter names and
// shapes as PyTorch has them, output shapes, and depth errors. Graphs are built, not trained; the few
// steps run use tiny inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "tests/training/config_sections.h"
#include "core/error.h"
#include "ops/norm.h"
#include "training/executor.h"
#include "training/models/models.h"
#include "training/modes/exact.h"

namespace frugal {
namespace {

using json = nlohmann::json;

const Shape kCifar{3, 32, 32};
const Shape kImageNet{3, 224, 224};

std::unique_ptr<Graph> build(const json& model, const Shape& sample, int64_t classes) {
  return build_model(testing_support::validated_section("model", model), sample, classes, 7);
}

// Like torchvision's sum(p.numel() for p in model.parameters()): trainable tensors only.
int64_t count_parameters(Graph& g, const std::string& prefix = "") {
  int64_t n = 0;
  for (Parameter* p : g.trainable_parameters())
    if (p->name.compare(0, prefix.size(), prefix) == 0) n += p->value.numel();
  return n;
}

// The shape of the parameter or buffer called `name`; a test failure when there is none.
Shape parameter_shape(Graph& g, const std::string& name) {
  for (Parameter* p : g.parameters())
    if (p->name == name) return p->value.shape();
  ADD_FAILURE() << "no parameter named '" << name << "'";
  return Shape{};
}

float parameter_value(Graph& g, const std::string& name, int64_t index) {
  for (Parameter* p : g.parameters())
    if (p->name == name) return p->value.f32()[index];
  ADD_FAILURE() << "no parameter named '" << name << "'";
  return 0;
}

// Per-sample output shape of the layer called `name` (batch dimension dropped).
Shape layer_output(const Graph& g, const std::string& name) {
  const int id = g.find(name);
  if (id < 0) return Shape{};
  const Shape& s = g.node(id).layer->output_shape();
  std::vector<int64_t> d;
  for (int i = 1; i < s.ndim(); ++i) d.push_back(s[i]);
  return Shape(d);
}

void expect_config_error_mentioning(const json& model, const Shape& sample, const std::string& needle) {
  try {
    build(model, sample, 10);
    ADD_FAILURE() << "no ConfigError for " << model.dump();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// One exact training step on random images; returns the loss.
float train_one_step(Graph& g, const Shape& sample, int64_t classes, int64_t batch) {
  std::vector<std::unique_ptr<BackwardMode>> modes;
  for (int i = 0; i < g.size(); ++i) modes.push_back(std::make_unique<ExactMode>());
  Executor ex(g, std::move(modes), "static", classes);
  Tensor images = Tensor::empty({batch, sample[0], sample[1], sample[2]});
  rng_normal(rng_key(3, RngStream::Test, 0), images.f32(), images.numel());
  Tensor labels = Tensor::empty({batch}, DType::I32);
  for (int64_t i = 0; i < batch; ++i) labels.data<int32_t>()[i] = static_cast<int32_t>(i % classes);
  return ex.train_step(images, labels, 0, 0).loss;
}

// --- sequential ---

TEST(SequentialModel, BatchNormTakesEpsAndMomentumFromTheLayerEntry) {
  const json model = {{"arch", "sequential"},
                      {"layers", {{{"type", "batchnorm2d"}, {"eps", 0.01}, {"momentum", 0.5}},
                                  {{"type", "flatten"}},
                                  {{"type", "linear"}}}}};
  const Shape sample{2, 3, 3};
  auto g = build(model, sample, 4);
  auto& bn = dynamic_cast<BatchNorm&>(g->layer(g->find("0")));
  EXPECT_FLOAT_EQ(bn.eps(), 0.01f);
  // One step from running_mean 0 with momentum 0.5 leaves half the batch mean; channel 1 is 1
  // everywhere.
  std::vector<std::unique_ptr<BackwardMode>> modes;
  for (int i = 0; i < g->size(); ++i) modes.push_back(std::make_unique<ExactMode>());
  Executor ex(*g, std::move(modes), "naive", 4);
  Tensor images = Tensor::empty({4, 2, 3, 3});
  images.fill(1.0f);
  images.f32()[0] = 0.0f;  // some variance in channel 0
  Tensor labels = Tensor::zeros({4}, DType::I32);
  ex.train_step(images, labels, 0, 0);
  EXPECT_FLOAT_EQ(parameter_value(*g, "0.running_mean", 1), 0.5f);
}

// --- CIFAR ResNet (basic blocks, 6n+2) ---

TEST(CifarResnet, Resnet20HasTheParameterCountOfItsLayers) {
  // The paper's 0.27M uses parameter-free shortcuts; the two 1x1-conv+BN projections add
  // 16*32 + 64 + 32*64 + 128 = 2,752 parameters.
  auto g = build({{"arch", "resnet"}, {"depth", 20}}, kCifar, 10);
  EXPECT_EQ(count_parameters(*g), 272474);
}

TEST(CifarResnet, ProjectsTheShortcutOnlyWhereTheShapeChanges) {
  auto g = build({{"arch", "resnet"}, {"depth", 20}}, kCifar, 10);
  EXPECT_EQ(parameter_shape(*g, "layer2.0.downsample.0.weight"), (Shape{32, 16, 1, 1}));
  EXPECT_EQ(parameter_shape(*g, "layer3.0.downsample.1.running_var"), (Shape{64}));
  EXPECT_EQ(g->find("layer1.0.downsample.0"), -1);
  EXPECT_EQ(g->find("layer2.1.downsample.0"), -1);
}

TEST(CifarResnet, RejectsDepthsThatAreNot6nPlus2NamingModelDepth) {
  expect_config_error_mentioning({{"arch", "resnet"}, {"depth", 21}}, kCifar, "model.depth");
  expect_config_error_mentioning({{"arch", "resnet"}, {"depth", 2}}, kCifar, "model.depth");
}

// --- Pre-activation bottleneck ResNet (9n+2) ---

TEST(PreactResnet, Resnet164HasAbout1Point7MillionParameters) {
  // Counted layer by layer: 3 stages of 18 bottlenecks (16/64, 32/128, 64/256), three 1x1 projections,
  // final BN and fc. The paper reports 1.7M.
  auto cifar10 = build({{"arch", "preact_resnet"}, {"depth", 164}}, kCifar, 10);
  EXPECT_EQ(count_parameters(*cifar10), 1703258);
  auto cifar100 = build({{"arch", "preact_resnet"}, {"depth", 164}}, kCifar, 100);
  EXPECT_EQ(count_parameters(*cifar100), 1726388);
}

TEST(PreactResnet, BlocksStartWithBatchNormAndProjectFromThePreActivatedInput) {
  auto g = build({{"arch", "preact_resnet"}, {"depth", 20}}, kCifar, 10);
  EXPECT_EQ(parameter_shape(*g, "layer1.0.bn1.weight"), (Shape{16}));  // reads conv1's 16 channels
  EXPECT_EQ(parameter_shape(*g, "layer1.0.conv1.weight"), (Shape{16, 16, 1, 1}));
  EXPECT_EQ(parameter_shape(*g, "layer1.0.conv3.weight"), (Shape{64, 16, 1, 1}));
  EXPECT_EQ(parameter_shape(*g, "layer1.0.shortcut.0.weight"), (Shape{64, 16, 1, 1}));
  EXPECT_EQ(parameter_shape(*g, "layer2.0.shortcut.0.weight"), (Shape{128, 64, 1, 1}));
  EXPECT_EQ(g->find("layer1.1.shortcut.0"), -1);
  const int shortcut = g->find("layer2.0.shortcut.0");
  EXPECT_EQ(g->node(shortcut).inputs.at(0), g->find("layer2.0.relu1"));
  EXPECT_EQ(parameter_shape(*g, "bn.weight"), (Shape{256}));
  EXPECT_EQ(parameter_shape(*g, "fc.weight"), (Shape{10, 256}));
}

TEST(PreactResnet, StridesTheThreeByThreeConvAtStagesTwoAndThree) {
  auto g = build({{"arch", "preact_resnet"}, {"depth", 20}}, kCifar, 10);
  EXPECT_EQ(layer_output(*g, "layer1.1.add"), (Shape{64, 32, 32}));
  EXPECT_EQ(layer_output(*g, "layer2.0.conv1"), (Shape{32, 32, 32}));
  EXPECT_EQ(layer_output(*g, "layer2.0.conv2"), (Shape{32, 16, 16}));
  EXPECT_EQ(layer_output(*g, "layer3.1.add"), (Shape{256, 8, 8}));
}

TEST(PreactResnet, RejectsDepthsThatAreNot9nPlus2NamingModelDepth) {
  expect_config_error_mentioning({{"arch", "preact_resnet"}, {"depth", 56 + 6}}, kCifar, "model.depth");
  expect_config_error_mentioning({{"arch", "preact_resnet"}, {"depth", 2}}, kCifar, "model.depth");
}

TEST(PreactResnet, TrainsOneStepWithAFiniteLoss) {
  auto g = build({{"arch", "preact_resnet"}, {"depth", 11}}, Shape{3, 8, 8}, 10);
  float loss = train_one_step(*g, Shape{3, 8, 8}, 10, 4);
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_GT(loss, 0.0f);
}

// --- torchvision ResNets ---

json torchvision(const std::string& arch) { return {{"arch", arch}, {"cifar_stem", false}}; }

TEST(ImagenetResnet, Resnet18MatchesTorchvisionsParameterCount) {
  auto g = build(torchvision("resnet18"), kImageNet, 1000);
  EXPECT_EQ(count_parameters(*g), 11689512);
}

TEST(ImagenetResnet, Resnet34MatchesTorchvisionsParameterCount) {
  auto g = build(torchvision("resnet34"), kImageNet, 1000);
  EXPECT_EQ(count_parameters(*g), 21797672);
}

TEST(ImagenetResnet, Resnet50MatchesTorchvisionsParameterCount) {
  auto g = build(torchvision("resnet50"), kImageNet, 1000);
  EXPECT_EQ(count_parameters(*g), 25557032);
}

TEST(ImagenetResnet, Resnet101And152MatchTorchvisionsParameterCounts) {
  EXPECT_EQ(count_parameters(*build(torchvision("resnet101"), kImageNet, 1000)), 44549160);
  EXPECT_EQ(count_parameters(*build(torchvision("resnet152"), kImageNet, 1000)), 60192808);
}

TEST(ImagenetResnet, TorchvisionStemDownsamplesFourTimesBeforeLayer1) {
  auto g = build(torchvision("resnet18"), kImageNet, 1000);
  EXPECT_EQ(parameter_shape(*g, "conv1.weight"), (Shape{64, 3, 7, 7}));
  EXPECT_EQ(layer_output(*g, "conv1"), (Shape{64, 112, 112}));
  EXPECT_EQ(layer_output(*g, "maxpool"), (Shape{64, 56, 56}));
  EXPECT_EQ(layer_output(*g, "layer4.1.relu2"), (Shape{512, 7, 7}));
  EXPECT_EQ(g->setup(Shape{2, 3, 224, 224}), (Shape{2, 1000}));
}

TEST(ImagenetResnet, CifarStemIsAThreeByThreeConvWithoutMaxPool) {
  auto g = build({{"arch", "resnet18"}, {"cifar_stem", true}}, kCifar, 10);
  EXPECT_EQ(parameter_shape(*g, "conv1.weight"), (Shape{64, 3, 3, 3}));
  EXPECT_EQ(g->find("maxpool"), -1);
  EXPECT_EQ(layer_output(*g, "layer1.0.conv1"), (Shape{64, 32, 32}));
  EXPECT_EQ(layer_output(*g, "layer4.1.relu2"), (Shape{512, 4, 4}));
  // torchvision's count less the 7x7 stem and 1000-class fc, plus the 3x3 stem and 10-class fc.
  EXPECT_EQ(count_parameters(*g), 11689512 - 64 * 3 * 49 + 64 * 3 * 9 - 513 * 1000 + 513 * 10);
}

TEST(ImagenetResnet, CifarStemIsTheSchemaDefault) {
  auto g = build({{"arch", "resnet34"}}, kCifar, 10);
  EXPECT_EQ(parameter_shape(*g, "conv1.weight"), (Shape{64, 3, 3, 3}));
}

TEST(ImagenetResnet, Resnet50StridesTheThreeByThreeConvAndProjectsWithTorchvisionNames) {
  auto g = build(torchvision("resnet50"), kImageNet, 1000);
  EXPECT_EQ(parameter_shape(*g, "layer1.0.downsample.0.weight"), (Shape{256, 64, 1, 1}));
  EXPECT_EQ(parameter_shape(*g, "layer1.0.downsample.1.num_batches_tracked"), (Shape{}));
  EXPECT_EQ(layer_output(*g, "layer2.0.conv1"), (Shape{128, 56, 56}));  // v1.5: not strided
  EXPECT_EQ(layer_output(*g, "layer2.0.conv2"), (Shape{128, 28, 28}));
  EXPECT_EQ(parameter_shape(*g, "layer4.2.conv3.weight"), (Shape{2048, 512, 1, 1}));
  EXPECT_EQ(parameter_shape(*g, "fc.weight"), (Shape{1000, 2048}));
  EXPECT_EQ(g->find("layer1.1.downsample.0"), -1);
}

TEST(ImagenetResnet, Resnet18TrainsOneStepOnSmallImages) {
  auto g = build({{"arch", "resnet18"}}, Shape{3, 16, 16}, 10);
  EXPECT_TRUE(std::isfinite(train_one_step(*g, Shape{3, 16, 16}, 10, 2)));
}

// --- VGG ---

TEST(Vgg, FeatureStacksMatchTorchvisionsBatchNormVariants) {
  // torchvision vgg16_bn has 138,365,992 parameters, of which 123,642,856 in its classifier;
  // vgg11_bn has 132,868,840.
  auto vgg16 = build({{"arch", "vgg16"}}, kCifar, 10);
  EXPECT_EQ(count_parameters(*vgg16, "features."), 138365992 - 123642856);
  auto vgg11 = build({{"arch", "vgg11"}}, kCifar, 10);
  EXPECT_EQ(count_parameters(*vgg11, "features."), 132868840 - 123642856);
}

TEST(Vgg, NumbersFeatureLayersAsTorchvisionsSequential) {
  auto g = build({{"arch", "vgg16"}}, kCifar, 10);
  EXPECT_EQ(parameter_shape(*g, "features.0.weight"), (Shape{64, 3, 3, 3}));
  EXPECT_EQ(parameter_shape(*g, "features.0.bias"), (Shape{64}));
  EXPECT_EQ(parameter_shape(*g, "features.1.running_mean"), (Shape{64}));
  EXPECT_EQ(parameter_shape(*g, "features.7.weight"), (Shape{128, 64, 3, 3}));  // after pool features.6
  EXPECT_EQ(parameter_shape(*g, "features.40.weight"), (Shape{512, 512, 3, 3}));
  EXPECT_EQ(layer_output(*g, "features.43"), (Shape{512, 1, 1}));
  auto vgg11 = build({{"arch", "vgg11"}}, kCifar, 10);
  EXPECT_EQ(parameter_shape(*vgg11, "features.25.weight"), (Shape{512, 512, 3, 3}));
  EXPECT_EQ(layer_output(*vgg11, "features.28"), (Shape{512, 1, 1}));
}

TEST(Vgg, SmallInputsGetA512WideClassifierSizedToTheFinalMap) {
  auto cifar = build({{"arch", "vgg11"}}, kCifar, 10);
  EXPECT_EQ(parameter_shape(*cifar, "classifier.0.weight"), (Shape{512, 512}));
  EXPECT_EQ(parameter_shape(*cifar, "classifier.3.weight"), (Shape{512, 512}));
  EXPECT_EQ(parameter_shape(*cifar, "classifier.6.weight"), (Shape{10, 512}));
  auto larger = build({{"arch", "vgg11"}}, Shape{3, 64, 96}, 10);  // final map 2x3
  EXPECT_EQ(parameter_shape(*larger, "classifier.0.weight"), (Shape{512, 512 * 2 * 3}));
  EXPECT_EQ(larger->setup(Shape{3, 3, 64, 96}), (Shape{3, 10}));
}

TEST(Vgg, ImageNetInputsGetTorchvisionsClassifier) {
  auto g = build({{"arch", "vgg11"}}, kImageNet, 1000);
  EXPECT_EQ(count_parameters(*g), 132868840);
  EXPECT_EQ(parameter_shape(*g, "classifier.0.weight"), (Shape{4096, 512 * 7 * 7}));
}

TEST(Vgg, DropoutKeepsTorchvisionsClassifierIndices) {
  auto g = build({{"arch", "vgg11"}, {"dropout", 0.5}}, kCifar, 10);
  EXPECT_STREQ(g->layer(g->find("classifier.2")).kind(), "Dropout");
  EXPECT_STREQ(g->layer(g->find("classifier.5")).kind(), "Dropout");
  auto without = build({{"arch", "vgg11"}, {"dropout", 0.0}}, kCifar, 10);
  EXPECT_EQ(without->find("classifier.2"), -1);
  EXPECT_NE(without->find("classifier.3"), -1);
}

TEST(Vgg, RejectsImagesTooSmallForFivePoolsNamingTheShape) {
  expect_config_error_mentioning({{"arch", "vgg16"}}, Shape{1, 28, 28}, "[1, 28, 28]");
}

}  // namespace
}  // namespace frugal
