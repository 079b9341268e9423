// Named architectures built from the config's "model" section. Names and layouts follow PyTorch
// (torchvision for the ResNets and VGGs, nn.Sequential indices for mlp/cnn/sequential) so that
// checkpoints load into the equivalent PyTorch model.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "training/graph.h"

namespace frugal {

// The values model.arch takes, in the order the config schema lists them.
const std::vector<std::string>& model_architectures();
// The values model.layers[i].type takes (arch "sequential"): layers and every activation.
std::vector<std::string> sequential_layer_types();

// `model`: the validated "model" config section (every key with a schema default present); `sample_shape`: [C, H, W]; `num_classes` > 1.
std::unique_ptr<Graph> build_model(const nlohmann::json& model, const Shape& sample_shape,
                                   int64_t num_classes, uint64_t seed);

// One per architecture (each in its own file).
std::unique_ptr<Graph> build_mlp(const nlohmann::json& model, const Shape& sample, int64_t classes, uint64_t seed);
std::unique_ptr<Graph> build_cnn(const nlohmann::json& model, const Shape& sample, int64_t classes, uint64_t seed);
std::unique_ptr<Graph> build_sequential(const nlohmann::json& model, const Shape& sample, int64_t classes,
                                        uint64_t seed);
// CIFAR ResNet (He et al. 2016): depth 6n+2, basic blocks, 16/32/64 channels, 1x1-conv+BN projection
// shortcuts where the shape changes.
std::unique_ptr<Graph> build_cifar_resnet(const nlohmann::json& model, const Shape& sample, int64_t classes,
                                          uint64_t seed);
// Pre-activation bottleneck ResNet for CIFAR (depth 9n+2, e.g. ResNet-164).
std::unique_ptr<Graph> build_preact_resnet(const nlohmann::json& model, const Shape& sample, int64_t classes,
                                           uint64_t seed);
// torchvision resnet18/34/50 (ImageNet layout; `cifar_stem` swaps the 7x7/stride-2 stem and max pool
// for a 3x3/stride-1 conv on small images).
std::unique_ptr<Graph> build_imagenet_resnet(const nlohmann::json& model, const Shape& sample, int64_t classes,
                                             uint64_t seed);
// torchvision vgg11_bn / vgg16_bn (classifier sized for the input).
std::unique_ptr<Graph> build_vgg(const nlohmann::json& model, const Shape& sample, int64_t classes, uint64_t seed);

}  // namespace frugal
