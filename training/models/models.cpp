#include "training/models/models.h"

#include "core/error.h"

namespace frugal {

std::unique_ptr<Graph> build_model(const nlohmann::json& model, const Shape& sample_shape,
                                   int64_t num_classes, uint64_t seed) {
  if (num_classes < 2) throw ConfigError("model.num_classes must be at least 2, got " + std::to_string(num_classes));
  const std::string arch = model.at("arch").get<std::string>();
  if (arch == "mlp") return build_mlp(model, sample_shape, num_classes, seed);
  if (arch == "cnn") return build_cnn(model, sample_shape, num_classes, seed);
  if (arch == "sequential") return build_sequential(model, sample_shape, num_classes, seed);
  if (arch == "resnet") return build_cifar_resnet(model, sample_shape, num_classes, seed);
  if (arch == "preact_resnet") return build_preact_resnet(model, sample_shape, num_classes, seed);
  if (arch == "resnet18" || arch == "resnet34" || arch == "resnet50" || arch == "resnet101" || arch == "resnet152")
    return build_imagenet_resnet(model, sample_shape, num_classes, seed);
  if (arch == "vgg11" || arch == "vgg16") return build_vgg(model, sample_shape, num_classes, seed);
  throw ConfigError("model.arch: unknown architecture '" + arch + "'");
}

}  // namespace frugal
