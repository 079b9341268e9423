// ResNet-20/32/56/110 for CIFAR (He et al. 2016, section 4.2): a 3x3 conv with 16 channels, three
// stages of n basic blocks with 16, 32 and 64 channels (stride 2 at the start of stages 2 and 3),
// global average pooling and a linear classifier. Names follow torchvision's BasicBlock.
#include "core/error.h"
#include "training/models/model_builder.h"
#include "training/models/models.h"

namespace frugal {
namespace {

const ActivationSpec kRelu = default_activation_spec(ActivationKind::ReLU);

int basic_block(ModelBuilder& b, const std::string& p, int x, int64_t planes, int64_t stride) {
  int64_t in_planes = b.shape_of(x)[0];
  int y = b.conv(p + ".conv1", x, planes, 3, stride, 1, false);
  y = b.batchnorm(p + ".bn1", y);
  y = b.activation(p + ".relu1", y, kRelu);
  y = b.conv(p + ".conv2", y, planes, 3, 1, 1, false);
  y = b.batchnorm(p + ".bn2", y);
  int shortcut = x;
  if (stride != 1 || in_planes != planes) {
    shortcut = b.conv(p + ".downsample.0", x, planes, 1, stride, 0, false);
    shortcut = b.batchnorm(p + ".downsample.1", shortcut);
  }
  y = b.add(p + ".add", y, shortcut);
  return b.activation(p + ".relu2", y, kRelu);
}

}  // namespace

std::unique_ptr<Graph> build_cifar_resnet(const nlohmann::json& model, const Shape& sample, int64_t classes,
                                          uint64_t seed) {
  const int64_t depth = model.at("depth").get<int64_t>();
  if (depth < 8 || (depth - 2) % 6 != 0)
    throw ConfigError("model.depth: a CIFAR ResNet has depth 6n+2 (20, 32, 44, 56, 110), got " +
                      std::to_string(depth));
  const int64_t n = (depth - 2) / 6, width = model.at("width").get<int64_t>();
  ModelBuilder b(seed, sample);
  int x = b.conv("conv1", b.input(), width, 3, 1, 1, false);
  x = b.batchnorm("bn1", x);
  x = b.activation("relu", x, kRelu);
  for (int stage = 0; stage < 3; ++stage) {
    const int64_t planes = width << stage;
    for (int64_t blk = 0; blk < n; ++blk)
      x = basic_block(b, "layer" + std::to_string(stage + 1) + "." + std::to_string(blk), x, planes,
                      stage > 0 && blk == 0 ? 2 : 1);
  }
  x = b.global_avgpool("avgpool", x);
  b.linear("fc", x, classes);
  return b.finish();
}

}  // namespace frugal
