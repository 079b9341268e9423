// torchvision's resnet18/34 (BasicBlock) and resnet50/101/152 (Bottleneck, stride on the 3x3 conv as in
// torchvision's "v1.5"), with torchvision's parameter names: conv1, bn1, layer1.0.conv1, ...,
// layer2.0.downsample.0/1, fc. Stages have 64/128/256/512 planes (x4 outputs for the bottleneck).
//
// The stem is torchvision's 7x7/stride-2 conv + 3x3/stride-2 max pool when model.cifar_stem is false;
// with cifar_stem (the schema default) it is a 3x3/stride-1 conv and no max pool, the usual layout for
// 32x32 images. Depth and width follow from the arch name; model.depth and model.width are not read.
#include <vector>

#include "core/error.h"
#include "training/models/model_builder.h"
#include "training/models/models.h"

namespace frugal {
namespace {

const ActivationSpec kRelu = default_activation_spec(ActivationKind::ReLU);

struct ResnetLayout {
  std::vector<int64_t> blocks;  // per stage
  bool bottleneck;
};

ResnetLayout layout_for(const std::string& arch) {
  if (arch == "resnet18") return {{2, 2, 2, 2}, false};
  if (arch == "resnet34") return {{3, 4, 6, 3}, false};
  if (arch == "resnet50") return {{3, 4, 6, 3}, true};
  if (arch == "resnet101") return {{3, 4, 23, 3}, true};
  if (arch == "resnet152") return {{3, 8, 36, 3}, true};
  throw ConfigError("model.arch: '" + arch +
                    "' is not an ImageNet ResNet (valid: resnet18, resnet34, resnet50, resnet101, resnet152)");
}

// 1x1 conv + BN on the shortcut where the block changes the shape.
int shortcut_for(ModelBuilder& b, const std::string& p, int x, int64_t out_planes, int64_t stride) {
  if (stride == 1 && b.shape_of(x)[0] == out_planes) return x;
  int s = b.conv(p + ".downsample.0", x, out_planes, 1, stride, 0, false);
  return b.batchnorm(p + ".downsample.1", s);
}

int basic_block(ModelBuilder& b, const std::string& p, int x, int64_t planes, int64_t stride) {
  int y = b.conv(p + ".conv1", x, planes, 3, stride, 1, false);
  y = b.batchnorm(p + ".bn1", y);
  y = b.activation(p + ".relu1", y, kRelu);
  y = b.conv(p + ".conv2", y, planes, 3, 1, 1, false);
  y = b.batchnorm(p + ".bn2", y);
  y = b.add(p + ".add", y, shortcut_for(b, p, x, planes, stride));
  return b.activation(p + ".relu2", y, kRelu);
}

int bottleneck_block(ModelBuilder& b, const std::string& p, int x, int64_t planes, int64_t stride) {
  int y = b.conv(p + ".conv1", x, planes, 1, 1, 0, false);
  y = b.batchnorm(p + ".bn1", y);
  y = b.activation(p + ".relu1", y, kRelu);
  y = b.conv(p + ".conv2", y, planes, 3, stride, 1, false);
  y = b.batchnorm(p + ".bn2", y);
  y = b.activation(p + ".relu2", y, kRelu);
  y = b.conv(p + ".conv3", y, planes * 4, 1, 1, 0, false);
  y = b.batchnorm(p + ".bn3", y);
  y = b.add(p + ".add", y, shortcut_for(b, p, x, planes * 4, stride));
  return b.activation(p + ".relu3", y, kRelu);
}

}  // namespace

std::unique_ptr<Graph> build_imagenet_resnet(const nlohmann::json& model, const Shape& sample, int64_t classes,
                                             uint64_t seed) {
  const ResnetLayout layout = layout_for(model.at("arch").get<std::string>());
  ModelBuilder b(seed, sample);
  const bool cifar_stem = model.at("cifar_stem").get<bool>();
  int x = cifar_stem ? b.conv("conv1", b.input(), 64, 3, 1, 1, false)   // 3x3, stride 1
                     : b.conv("conv1", b.input(), 64, 7, 2, 3, false);  // 7x7, stride 2
  x = b.batchnorm("bn1", x);
  x = b.activation("relu", x, kRelu);
  if (!cifar_stem) x = b.maxpool("maxpool", x, 3, 2, 1);
  for (size_t stage = 0; stage < layout.blocks.size(); ++stage) {
    const int64_t planes = int64_t{64} << stage;
    for (int64_t blk = 0; blk < layout.blocks[stage]; ++blk) {
      const std::string p = "layer" + std::to_string(stage + 1) + "." + std::to_string(blk);
      const int64_t stride = stage > 0 && blk == 0 ? 2 : 1;
      x = layout.bottleneck ? bottleneck_block(b, p, x, planes, stride) : basic_block(b, p, x, planes, stride);
    }
  }
  x = b.global_avgpool("avgpool", x);
  b.linear("fc", x, classes);
  return b.finish();
}

}  // namespace frugal
