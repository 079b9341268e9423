// Architectures still to be written. Each raises a clear error until it lands in its own file.
#include "core/error.h"
#include "training/models/models.h"

namespace frugal {

std::unique_ptr<Graph> build_preact_resnet(const nlohmann::json&, const Shape&, int64_t, uint64_t) {
  throw ConfigError("model.arch 'preact_resnet' is not available in this build yet");
}
std::unique_ptr<Graph> build_imagenet_resnet(const nlohmann::json& m, const Shape&, int64_t, uint64_t) {
  throw ConfigError("model.arch '" + m.at("arch").get<std::string>() + "' is not available in this build yet");
}
std::unique_ptr<Graph> build_vgg(const nlohmann::json& m, const Shape&, int64_t, uint64_t) {
  throw ConfigError("model.arch '" + m.at("arch").get<std::string>() + "' is not available in this build yet");
}

}  // namespace frugal
