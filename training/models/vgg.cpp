// torchvision's vgg11_bn and vgg16_bn. The feature stack is numbered exactly as torchvision's
// nn.Sequential: each conv entry gives "features.i" (3x3 conv with bias), "features.i+1" (BN),
// "features.i+2" (ReLU), each "M" gives a 2x2 max pool, so e.g. vgg16_bn's last conv is "features.40".
//
// The classifier depends on the input size. For 224x224 inputs the features end at 7x7 and the
// classifier is torchvision's (its adaptive 7x7 average pool is then the identity): classifier.0
// Linear(512*7*7 -> 4096), ReLU, Dropout, classifier.3 Linear(4096 -> 4096), ReLU, Dropout,
// classifier.6 Linear(4096 -> classes). For smaller inputs (CIFAR's 32x32 ends at 1x1) a 4096-wide head
// would dwarf the network, so the same three layers are 512 wide: classifier.0 Linear(512*s*s -> 512),
// classifier.3 Linear(512 -> 512), classifier.6 Linear(512 -> classes), s x s being the final map.
// Dropout uses model.dropout (torchvision: 0.5) and is left out at 0, keeping torchvision's indices.
#include <vector>

#include "core/error.h"
#include "training/models/model_builder.h"
#include "training/models/models.h"

namespace frugal {
namespace {

const ActivationSpec kRelu = default_activation_spec(ActivationKind::ReLU);
constexpr int64_t kMaxPool = 0;  // marks a max pool in a feature configuration
constexpr int64_t kImageNetSize = 224, kSmallestInput = 32;  // 5 halvings need at least 32 pixels

std::vector<int64_t> feature_config(const std::string& arch) {
  const int64_t M = kMaxPool;
  if (arch == "vgg11") return {64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M};
  if (arch == "vgg16") return {64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M};
  throw ConfigError("model.arch: '" + arch + "' is not a VGG (valid: vgg11, vgg16)");
}

std::string at(const std::string& section, int64_t index) { return section + "." + std::to_string(index); }

}  // namespace

std::unique_ptr<Graph> build_vgg(const nlohmann::json& model, const Shape& sample, int64_t classes, uint64_t seed) {
  const std::string arch = model.at("arch").get<std::string>();
  const std::vector<int64_t> config = feature_config(arch);
  if (sample.ndim() != 3 || sample[1] < kSmallestInput || sample[2] < kSmallestInput ||
      sample[1] > kImageNetSize || sample[2] > kImageNetSize)
    throw ConfigError("model.arch '" + arch + "': needs images [C, H, W] with H and W from " +
                      std::to_string(kSmallestInput) + " to " + std::to_string(kImageNetSize) + ", got " +
                      sample.str());
  const bool imagenet_head = sample[1] == kImageNetSize && sample[2] == kImageNetSize;
  const int64_t hidden = imagenet_head ? 4096 : 512;
  const float p = model.at("dropout").get<float>();

  ModelBuilder b(seed, sample);
  int x = b.input();
  int64_t i = 0;
  for (int64_t v : config) {
    if (v == kMaxPool) {
      x = b.maxpool(at("features", i++), x, 2, 2);
      continue;
    }
    x = b.conv(at("features", i++), x, v, 3, 1, 1, true);
    x = b.batchnorm(at("features", i++), x);
    x = b.activation(at("features", i++), x, kRelu);
  }
  x = b.flatten("flatten", x);
  for (int64_t layer = 0; layer < 2; ++layer) {
    x = b.linear(at("classifier", 3 * layer), x, hidden);
    x = b.activation(at("classifier", 3 * layer + 1), x, kRelu);
    if (p > 0) x = b.dropout(at("classifier", 3 * layer + 2), x, p);
  }
  b.linear(at("classifier", 6), x, classes);
  return b.finish();
}

}  // namespace frugal
