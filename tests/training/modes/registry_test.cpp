// The backward section's per-layer entries: the first entry whose pattern matches a layer decides its
// mode (as the schema documents), a later matching entry is shadowed but not "unused".
#include "training/modes/registry.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/training/config_sections.h"
#include "training/models/model_builder.h"

namespace frugal {
namespace {

std::unique_ptr<Graph> two_linear_layers() {
  ModelBuilder b(1, Shape{4});
  int x = b.linear("fc1", b.input(), 3);
  x = b.activation("act", x, default_activation_spec(ActivationKind::ReLU));
  b.linear("fc2", x, 2);
  return b.finish();
}

std::vector<std::string> mode_names(const std::vector<std::unique_ptr<BackwardMode>>& modes) {
  std::vector<std::string> names;
  for (const auto& m : modes) names.push_back(m->name());
  return names;
}

TEST(BackwardModeAssignment, FirstMatchingEntryWins) {
  auto g = two_linear_layers();
  const nlohmann::json backward = {
      {"layers", {{{"match", "fc*"}, {"mode", "dfa"}}, {{"match", "fc1"}, {"mode", "fa"}}}}};
  EXPECT_EQ(mode_names(testing_support::assign_modes(*g, backward, 1)),
            (std::vector<std::string>{"dfa", "exact", "dfa"}));
  // In the other order the narrower pattern comes first and wins for its layer.
  const nlohmann::json reversed = {
      {"layers", {{{"match", "fc1"}, {"mode", "fa"}}, {{"match", "fc*"}, {"mode", "dfa"}}}}};
  EXPECT_EQ(mode_names(testing_support::assign_modes(*g, reversed, 1)),
            (std::vector<std::string>{"fa", "exact", "dfa"}));
}

TEST(BackwardModeAssignment, APatternMatchingNoLayerIsNamed) {
  auto g = two_linear_layers();
  const nlohmann::json backward = {{"layers", {{{"match", "conv*"}, {"mode", "fa"}}}}};
  try {
    testing_support::assign_modes(*g, backward, 1);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("backward.layers[0].match"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace frugal
