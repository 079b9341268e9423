// Pre-activation bottleneck ResNet for CIFAR (He et al. 2016, "Identity Mappings in Deep Residual
// Networks"): a 3x3 conv with `width` (16) channels, three stages of n bottleneck blocks whose 3x3
// convs have width, 2*width and 4*width channels and whose outputs are 4x wider (16/64, 32/128,
// 64/256), stride 2 on the 3x3 conv at the start of stages 2 and 3, then BN-ReLU, global average
// pooling and a linear classifier. Depth 9n+2 (ResNet-164: n = 18).
//
// Each block computes BN-ReLU first; where the shape changes, a 1x1 conv projection shortcut reads that
// pre-activated input (as in the authors' code), otherwise the shortcut is the block input itself.
// The equivalent PyTorch module is PreActResNet in scripts/check_pytorch_parity.py.
#include "core/error.h"
#include "training/models/model_builder.h"
#include "training/models/models.h"

namespace frugal {
namespace {

const ActivationSpec kRelu = default_activation_spec(ActivationKind::ReLU);
constexpr int64_t kExpansion = 4;

int preact_bottleneck(ModelBuilder& b, const std::string& p, int x, int64_t planes, int64_t stride) {
  const int64_t in_planes = b.shape_of(x)[0], out_planes = planes * kExpansion;
  int pre = b.batchnorm(p + ".bn1", x);
  pre = b.activation(p + ".relu1", pre, kRelu);
  int y = b.conv(p + ".conv1", pre, planes, 1, 1, 0, false);
  y = b.batchnorm(p + ".bn2", y);
  y = b.activation(p + ".relu2", y, kRelu);
  y = b.conv(p + ".conv2", y, planes, 3, stride, 1, false);
  y = b.batchnorm(p + ".bn3", y);
  y = b.activation(p + ".relu3", y, kRelu);
  y = b.conv(p + ".conv3", y, out_planes, 1, 1, 0, false);
  int shortcut = x;
  if (stride != 1 || in_planes != out_planes)
    shortcut = b.conv(p + ".shortcut.0", pre, out_planes, 1, stride, 0, false);
  return b.add(p + ".add", y, shortcut);
}

}  // namespace

std::unique_ptr<Graph> build_preact_resnet(const nlohmann::json& model, const Shape& sample, int64_t classes,
                                           uint64_t seed) {
  const int64_t depth = model.at("depth").get<int64_t>();
  if (depth < 11 || (depth - 2) % 9 != 0)
    throw ConfigError("model.depth: a pre-activation bottleneck ResNet has depth 9n+2 (56, 110, 164, 1001), got " +
                      std::to_string(depth));
  const int64_t n = (depth - 2) / 9, width = model.at("width").get<int64_t>();
  ModelBuilder b(seed, sample);
  int x = b.conv("conv1", b.input(), width, 3, 1, 1, false);
  for (int stage = 0; stage < 3; ++stage) {
    const int64_t planes = width << stage;
    for (int64_t blk = 0; blk < n; ++blk)
      x = preact_bottleneck(b, "layer" + std::to_string(stage + 1) + "." + std::to_string(blk), x, planes,
                            stage > 0 && blk == 0 ? 2 : 1);
  }
  x = b.batchnorm("bn", x);
  x = b.activation("relu", x, kRelu);
  x = b.global_avgpool("avgpool", x);
  b.linear("fc", x, classes);
  return b.finish();
}

}  // namespace frugal
