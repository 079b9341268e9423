// One source of truth: every name list the config schema enumerates is the list of the registry that
// implements it, and every name in those lists can be built.
#include <gtest/gtest.h>

#include "core/config/validate.h"
#include "datasets/dataset.h"
#include "memory/planner.h"
#include "ops/activation_spec.h"
#include "tests/training/config_sections.h"
#include "training/config/frugal_schema.h"
#include "training/models/model_builder.h"
#include "training/models/models.h"
#include "training/modes/registry.h"
#include "training/optim/lr_schedule.h"
#include "training/optim/optimizer_factory.h"

namespace frugal {
namespace {

// The allowed values of the enumeration at `path` ("model.arch", "model.layers[].type").
std::vector<std::string> enumerated(const std::string& path) {
  const Schema* s = &frugal_config_schema();
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('.', start);
    std::string key = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    const bool element = key.size() > 2 && key.substr(key.size() - 2) == "[]";
    if (element) key.resize(key.size() - 2);
    s = s->field(key);
    if (!s) return {};
    if (element) s = &s->element();
    start = end == std::string::npos ? path.size() : end + 1;
  }
  return s->allowed();
}

TEST(SchemaRegistries, EveryEnumerationIsItsRegistrysList) {
  EXPECT_EQ(enumerated("data.dataset"), dataset_names());
  EXPECT_EQ(enumerated("model.arch"), model_architectures());
  EXPECT_EQ(enumerated("model.activation"), activation_names());
  EXPECT_EQ(enumerated("model.layers[].type"), sequential_layer_types());
  EXPECT_EQ(enumerated("backward.default.mode"), registered_backward_modes());
  EXPECT_EQ(enumerated("backward.layers[].mode"), registered_backward_modes());
  EXPECT_EQ(enumerated("memory.planner"), planner_names());
  EXPECT_EQ(enumerated("optimizer.name"), optimizer_names());
  EXPECT_EQ(enumerated("schedule.name"), lr_schedule_names());
}

TEST(SchemaRegistries, EveryListedNameIsImplemented) {
  for (const std::string& name : planner_names()) EXPECT_NO_THROW(make_planner(name)) << name;
  for (const std::string& name : activation_names()) EXPECT_NO_THROW(parse_activation(name)) << name;
  for (const std::string& name : lr_schedule_names()) {
    LrScheduleOptions o;
    o.name = name;
    o.total_epochs = 2;
    EXPECT_NO_THROW(LrSchedule{o}) << name;
  }
  for (const std::string& name : optimizer_names()) {
    Parameter w{"w", Tensor::zeros({2}, DType::F32), Tensor::zeros({2}, DType::F32)};
    const auto section = testing_support::validated_section("optimizer", {{"name", name}});
    EXPECT_NO_THROW(make_optimizer(section, {&w})) << name;
  }
  // Each layer type of a sequential model, between a flatten (or an image input) and the classifier.
  for (const std::string& type : sequential_layer_types()) {
    nlohmann::json layer = {{"type", type}};
    if (type == "conv2d") layer.update({{"out_channels", 2}, {"kernel", 3}, {"padding", 1}});
    if (type == "linear") layer["out_features"] = 5;
    if (type == "maxpool2d" || type == "avgpool2d") layer["kernel"] = 2;
    const bool flat = type == "linear" || type == "batchnorm1d";
    nlohmann::json layers = nlohmann::json::array();
    if (flat) layers.push_back({{"type", "flatten"}});
    layers.push_back(layer);
    if (!flat && type != "flatten") layers.push_back({{"type", "flatten"}});
    layers.push_back({{"type", "linear"}});
    const auto model = testing_support::validated_section("model", {{"arch", "sequential"}, {"layers", layers}});
    EXPECT_NO_THROW(build_model(model, Shape{1, 4, 4}, 3, 1)) << type;
  }
}

}  // namespace
}  // namespace frugal
