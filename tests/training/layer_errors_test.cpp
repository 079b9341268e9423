// Bad shapes and layer parameters raise frugal errors whose message names the layer and the shapes.
#include <gtest/gtest.h>

#include "core/error.h"
#include "ops/conv.h"
#include "ops/elementwise.h"
#include "ops/linear.h"
#include "ops/norm.h"
#include "training/models/model_builder.h"

namespace frugal {
namespace {

template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "no exception";
  return "";
}

void expect_contains(const std::string& text, std::initializer_list<const char*> parts) {
  for (const char* p : parts) EXPECT_NE(text.find(p), std::string::npos) << "'" << p << "' not in: " << text;
}

TEST(LayerErrors, LinearInputWidthMismatchNamesLayerAndShapes) {
  Linear fc("classifier.fc", 10, 4, true, rng_key(0, RngStream::Test));
  expect_contains(message_of<ShapeError>([&] { fc.setup({Shape{8, 12}}); }), {"classifier.fc", "[N, 10]", "[8, 12]"});
}

TEST(LayerErrors, ConvChannelMismatchNamesLayerAndShapes) {
  Conv2dOptions o;
  o.in_channels = 3;
  o.out_channels = 8;
  Conv2d conv("layer1.0.conv1", o, rng_key(0, RngStream::Test));
  expect_contains(message_of<ShapeError>([&] { conv.setup({Shape{2, 4, 9, 9}}); }),
                  {"layer1.0.conv1", "[2, 4, 9, 9]"});
}

TEST(LayerErrors, ConvKernelLargerThanInputIsRefused) {
  Conv2dOptions o;
  o.in_channels = 1;
  o.out_channels = 2;
  o.kernel_h = o.kernel_w = 7;
  Conv2d conv("stem", o, rng_key(0, RngStream::Test));
  expect_contains(message_of<ShapeError>([&] { conv.setup({Shape{1, 1, 4, 4}}); }), {"stem"});
}

TEST(LayerErrors, InvalidGroupsNameTheLayer) {
  Conv2dOptions o;
  o.in_channels = 6;
  o.out_channels = 4;
  o.groups = 4;
  expect_contains(message_of<ShapeError>([&] { Conv2d("dw", o, rng_key(0, RngStream::Test)); }), {"dw", "groups 4"});
}

TEST(LayerErrors, AddOfDifferentShapesNamesBoth) {
  Add add("block.add");
  expect_contains(message_of<ShapeError>([&] { add.setup({Shape{2, 4, 8, 8}, Shape{2, 8, 4, 4}}); }),
                  {"block.add", "[2, 4, 8, 8]", "[2, 8, 4, 4]"});
}

TEST(LayerErrors, BatchNormChannelMismatchNamesLayer) {
  BatchNorm bn("bn1", 16, true);
  expect_contains(message_of<ShapeError>([&] { bn.setup({Shape{2, 8, 4, 4}}); }), {"bn1", "[2, 8, 4, 4]"});
}

TEST(LayerErrors, DropoutProbabilityOutOfRangeIsRefused) {
  expect_contains(message_of<ShapeError>([&] { Dropout("drop", 1.5f); }), {"drop", "1.5"});
}

TEST(LayerErrors, LinearOnAnImageAsksForAFlatten) {
  ModelBuilder b(0, Shape{1, 28, 28});
  expect_contains(message_of<ConfigError>([&] { b.linear("fc", b.input(), 10); }), {"fc", "flatten", "[1, 28, 28]"});
}

}  // namespace
}  // namespace frugal
