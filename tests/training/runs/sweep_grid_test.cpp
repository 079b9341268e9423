#include "training/runs/sweep_grid.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "training/runs/run_charts.h"

namespace frugal {
namespace {

TEST(SweepGrid, ValuesSplitAtCommasOutsideBracketsAndQuotes) {
  const GridAxis axis = parse_grid_axis("model.hidden=[64,64],[128],\"a,b\"");
  EXPECT_EQ(axis.key, "model.hidden");
  EXPECT_EQ(axis.values, (std::vector<std::string>{"[64,64]", "[128]", "\"a,b\""}));
}

TEST(SweepGrid, MalformedAxesAreConfigErrors) {
  EXPECT_THROW(parse_grid_axis("train.epochs"), ConfigError);
  EXPECT_THROW(parse_grid_axis("=1,2"), ConfigError);
  EXPECT_THROW(parse_grid_axis("train.epochs=1,,2"), ConfigError);
  EXPECT_THROW(parse_grid_axis("model.hidden=[1,2"), ConfigError);
  EXPECT_THROW(parse_grid_axis("model.hidden=1]"), ConfigError);
  EXPECT_THROW(expand_grid({}), ConfigError);
  EXPECT_THROW(expand_grid({parse_grid_axis("seed=1"), parse_grid_axis("seed=2")}), ConfigError);
}

TEST(SweepGrid, ProductVariesTheFirstAxisSlowest) {
  const auto points = expand_grid({parse_grid_axis("backward.default.mode=exact,quantized"),
                                   parse_grid_axis("backward.default.bits=2,4,8")});
  ASSERT_EQ(points.size(), 6u);
  EXPECT_EQ(points[0].overrides, (std::vector<std::string>{"backward.default.mode=exact", "backward.default.bits=2"}));
  EXPECT_EQ(points[5].overrides,
            (std::vector<std::string>{"backward.default.mode=quantized", "backward.default.bits=8"}));
  EXPECT_EQ(points[4].label, "mode=quantized bits=4");
  EXPECT_EQ(points[4].dir_name, "04_mode=quantized_bits=4");
}

TEST(SweepGrid, SharedLastSegmentsKeepTheWholeKeyAndFolderNamesAreSafe) {
  const auto points = expand_grid({parse_grid_axis("optimizer.eps=1e-8"), parse_grid_axis("model.layers[0].eps=0.1"),
                                   parse_grid_axis("name=\"a/b c\"")});
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].label, "optimizer.eps=1e-8 model.layers[0].eps=0.1 name=a/b c");
  EXPECT_EQ(points[0].dir_name, "00_optimizer.eps=1e-8_model.layers0.eps=0.1_name=a-b_c");
}

TEST(SweepGrid, FolderIndicesAreZeroPaddedToTheCount) {
  std::string values = "0";
  for (int i = 1; i < 120; ++i) values += "," + std::to_string(i);
  const auto points = expand_grid({parse_grid_axis("seed=" + values)});
  EXPECT_EQ(points[7].dir_name, "007_seed=7");
  EXPECT_EQ(points[119].dir_name, "119_seed=119");
}

TEST(ParetoFront, KeepsPointsNoOtherBeatsOnBothMemoryAndAccuracy) {
  // (memory, accuracy): c is dominated by a (less memory, more accuracy); d ties b and is kept.
  const std::vector<std::pair<double, double>> xy = {{10, 0.9}, {4, 0.8}, {12, 0.85}, {4, 0.8}, {20, 0.95}};
  EXPECT_EQ(pareto_front(xy), (std::vector<size_t>{1, 3, 0, 4}));
  EXPECT_EQ(pareto_front({}), std::vector<size_t>{});
}

}  // namespace
}  // namespace frugal
