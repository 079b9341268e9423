#include "training/optim/lr_schedule.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"

namespace frugal {
namespace {

LrScheduleOptions options(const std::string& name, float base_lr, int64_t total_epochs,
                          int64_t steps_per_epoch) {
  LrScheduleOptions o;
  o.name = name;
  o.base_lr = base_lr;
  o.total_epochs = total_epochs;
  o.steps_per_epoch = steps_per_epoch;
  return o;
}

std::string config_error_of(const LrScheduleOptions& o) {
  try {
    LrSchedule schedule(o);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected ConfigError";
  return "";
}

TEST(LrSchedule, ConstantIsTheBaseRateAtEveryStep) {
  LrSchedule s(options("constant", 0.05f, 3, 10));
  for (int64_t step : {0, 1, 29, 30, 1000}) EXPECT_EQ(s.lr_at(step), 0.05f) << step;
}

TEST(LrSchedule, WarmupRampsLinearlyAndReachesTheBaseRateOnItsLastStep) {
  LrScheduleOptions o = options("constant", 0.4f, 5, 4);
  o.warmup_epochs = 1;
  LrSchedule s(o);
  EXPECT_EQ(s.warmup_steps(), 4);
  EXPECT_FLOAT_EQ(s.lr_at(0), 0.1f);
  EXPECT_FLOAT_EQ(s.lr_at(1), 0.2f);
  EXPECT_FLOAT_EQ(s.lr_at(2), 0.3f);
  EXPECT_FLOAT_EQ(s.lr_at(3), 0.4f);
  EXPECT_FLOAT_EQ(s.lr_at(4), 0.4f);
}

TEST(LrSchedule, FractionalWarmupEpochsRoundToWholeSteps) {
  LrScheduleOptions o = options("constant", 1.0f, 2, 5);
  o.warmup_epochs = 0.5;  // 2.5 steps
  EXPECT_EQ(LrSchedule(o).warmup_steps(), 3);
}

TEST(LrSchedule, MultistepMultipliesByGammaFromEachMilestoneEpochOn) {
  LrScheduleOptions o = options("multistep", 1.0f, 10, 3);
  o.milestones_epochs = {2, 4};
  o.gamma = 0.1f;
  LrSchedule s(o);
  EXPECT_FLOAT_EQ(s.lr_at(5), 1.0f);     // last step of epoch 1
  EXPECT_FLOAT_EQ(s.lr_at(6), 0.1f);     // first step of epoch 2
  EXPECT_FLOAT_EQ(s.lr_at(11), 0.1f);    // last step of epoch 3
  EXPECT_FLOAT_EQ(s.lr_at(12), 0.01f);   // epoch 4
  EXPECT_FLOAT_EQ(s.lr_at(1000), 0.01f); // past the end: no further milestones
}

TEST(LrSchedule, MultistepMilestonesCountEpochsFromTheStartIncludingWarmup) {
  LrScheduleOptions o = options("multistep", 0.3f, 4, 3);
  o.milestones_epochs = {1};
  o.gamma = 0.5f;
  o.warmup_epochs = 1;
  LrSchedule s(o);
  EXPECT_FLOAT_EQ(s.lr_at(0), 0.1f);
  EXPECT_FLOAT_EQ(s.lr_at(2), 0.3f);
  EXPECT_FLOAT_EQ(s.lr_at(3), 0.15f);
}

TEST(LrSchedule, CosineGoesFromBaseThroughTheMeanToMinLr) {
  LrScheduleOptions o = options("cosine", 1.0f, 2, 5);
  o.min_lr = 0.1f;
  LrSchedule s(o);
  EXPECT_FLOAT_EQ(s.lr_at(0), 1.0f);
  EXPECT_FLOAT_EQ(s.lr_at(5), 0.55f);
  EXPECT_FLOAT_EQ(s.lr_at(10), 0.1f);
  EXPECT_FLOAT_EQ(s.lr_at(500), 0.1f);
}

TEST(LrSchedule, CosineStartsAfterWarmupAndSpansTheRemainingSteps) {
  LrScheduleOptions o = options("cosine", 2.0f, 3, 5);
  o.warmup_epochs = 1;
  LrSchedule s(o);
  EXPECT_FLOAT_EQ(s.lr_at(4), 2.0f);   // last warm-up step
  EXPECT_FLOAT_EQ(s.lr_at(5), 2.0f);   // t = 0 of T = 10
  EXPECT_FLOAT_EQ(s.lr_at(10), 1.0f);  // t = 5
  EXPECT_NEAR(s.lr_at(15), 0.0f, 1e-7f);
  for (int64_t step = 5; step < 15; ++step) EXPECT_GT(s.lr_at(step), s.lr_at(step + 1)) << step;
}

TEST(LrSchedule, UnknownNameIsAConfigErrorNamingTheKey) {
  std::string message = config_error_of(options("linear", 0.1f, 1, 1));
  EXPECT_NE(message.find("schedule.name"), std::string::npos) << message;
  EXPECT_NE(message.find("linear"), std::string::npos) << message;
}

TEST(LrSchedule, UnsortedMilestonesAreAConfigErrorNamingTheKey) {
  LrScheduleOptions o = options("multistep", 0.1f, 10, 1);
  o.milestones_epochs = {5, 3};
  std::string message = config_error_of(o);
  EXPECT_NE(message.find("schedule.milestones"), std::string::npos) << message;
  EXPECT_NE(message.find("[5, 3]"), std::string::npos) << message;
}

TEST(LrSchedule, RepeatedMilestonesAreAConfigError) {
  LrScheduleOptions o = options("multistep", 0.1f, 10, 1);
  o.milestones_epochs = {3, 3};
  EXPECT_NE(config_error_of(o).find("schedule.milestones"), std::string::npos);
}

TEST(LrSchedule, CosineWarmupCoveringEveryStepIsAConfigErrorNamingWarmupEpochs) {
  LrScheduleOptions o = options("cosine", 0.1f, 2, 10);
  o.warmup_epochs = 2;
  EXPECT_NE(config_error_of(o).find("schedule.warmup_epochs"), std::string::npos);
}

TEST(LrSchedule, CosineMinLrAboveBaseLrIsAConfigErrorNamingMinLr) {
  LrScheduleOptions o = options("cosine", 0.1f, 2, 10);
  o.min_lr = 0.2f;
  EXPECT_NE(config_error_of(o).find("schedule.min_lr"), std::string::npos);
}

TEST(LrSchedule, ZeroStepsPerEpochIsAConfigErrorNamingTheKey) {
  EXPECT_NE(config_error_of(options("constant", 0.1f, 2, 0)).find("steps per epoch"), std::string::npos);
}

TEST(LrSchedule, NegativeStepIsAnInternalError) {
  LrSchedule s(options("constant", 0.1f, 1, 1));
  EXPECT_THROW(s.lr_at(-1), InternalError);
}

}  // namespace
}  // namespace frugal
