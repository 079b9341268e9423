#include "training/models/models.h"

#include "core/error.h"

namespace frugal {

namespace {

using Builder = std::unique_ptr<Graph> (*)(const nlohmann::json&, const Shape&, int64_t, uint64_t);
struct Architecture {
  const char* name;
  Builder build;
};
constexpr Architecture kArchitectures[] = {
    {"mlp", build_mlp},           {"cnn", build_cnn},
    {"resnet", build_cifar_resnet}, {"preact_resnet", build_preact_resnet},
    {"resnet18", build_imagenet_resnet}, {"resnet34", build_imagenet_resnet},
    {"resnet50", build_imagenet_resnet}, {"resnet101", build_imagenet_resnet},
    {"resnet152", build_imagenet_resnet}, {"vgg11", build_vgg},
    {"vgg16", build_vgg},         {"sequential", build_sequential},
};

}  // namespace

const std::vector<std::string>& model_architectures() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Architecture& a : kArchitectures) out.push_back(a.name);
    return out;
  }();
  return names;
}

std::unique_ptr<Graph> build_model(const nlohmann::json& model, const Shape& sample_shape,
                                   int64_t num_classes, uint64_t seed) {
  if (num_classes < 2) throw ConfigError("model.num_classes must be at least 2, got " + std::to_string(num_classes));
  const std::string arch = model.at("arch").get<std::string>();
  for (const Architecture& a : kArchitectures)
    if (arch == a.name) return a.build(model, sample_shape, num_classes, seed);
  throw ConfigError("model.arch: unknown architecture '" + arch + "'");
}

}  // namespace frugal
