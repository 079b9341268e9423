#include "datasets/augment.h"

#include <gtest/gtest.h>

#include <vector>

namespace frugal {
namespace {

TEST(Augment, DrawsDependOnlyOnSeedEpochAndPosition) {
  AugmentOptions opts{4, true};
  const SampleAugment a = draw_sample_augment(augment_key(1, 3), 17, opts);
  const SampleAugment b = draw_sample_augment(augment_key(1, 3), 17, opts);
  EXPECT_EQ(a.offset_y, b.offset_y);
  EXPECT_EQ(a.offset_x, b.offset_x);
  EXPECT_EQ(a.flip, b.flip);
  // Over many positions, another epoch gives different draws.
  int differ = 0;
  for (int p = 0; p < 100; ++p) {
    const SampleAugment e3 = draw_sample_augment(augment_key(1, 3), p, opts);
    const SampleAugment e4 = draw_sample_augment(augment_key(1, 4), p, opts);
    differ += e3.offset_y != e4.offset_y || e3.offset_x != e4.offset_x || e3.flip != e4.flip;
  }
  EXPECT_GT(differ, 80);
}

TEST(Augment, FlipRateIsAboutOneHalf) {
  AugmentOptions opts{0, true};
  int flips = 0;
  const int n = 20000;
  for (int p = 0; p < n; ++p) flips += draw_sample_augment(augment_key(9, 0), p, opts).flip;
  EXPECT_NEAR(flips / double(n), 0.5, 0.015);  // ~4 standard deviations
}

TEST(Augment, CropOffsetsAreUniformOverZeroToTwicePadding) {
  AugmentOptions opts{2, false};
  std::vector<int> counts_y(5, 0), counts_x(5, 0);
  const int n = 20000;
  for (int p = 0; p < n; ++p) {
    const SampleAugment a = draw_sample_augment(augment_key(2, 1), p, opts);
    ASSERT_GE(a.offset_y, 0);
    ASSERT_LE(a.offset_y, 4);
    ASSERT_GE(a.offset_x, 0);
    ASSERT_LE(a.offset_x, 4);
    EXPECT_FALSE(a.flip);  // flipping is off
    ++counts_y[a.offset_y];
    ++counts_x[a.offset_x];
  }
  for (int v = 0; v < 5; ++v) {
    EXPECT_NEAR(counts_y[v] / double(n), 0.2, 0.015) << "offset_y " << v;
    EXPECT_NEAR(counts_x[v] / double(n), 0.2, 0.015) << "offset_x " << v;
  }
}

// A [2, 3, 4] image whose value encodes (channel, row, column) as 100c + 10y + x + 1.
std::vector<float> coded_image() {
  std::vector<float> img(24);
  for (int c = 0; c < 2; ++c)
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 4; ++x) img[c * 12 + y * 4 + x] = 100.0f * c + 10.0f * y + x + 1;
  return img;
}

TEST(Augment, CropShiftsContentAndFillsWithZeros) {
  const Shape chw{2, 3, 4};
  const AugmentOptions opts{1, false};
  std::vector<float> src = coded_image(), dst(24, -1.0f);
  // Window at (2, 0) in the padded image: content moves up one row and right one column.
  apply_sample_augment({2, 0, false}, opts, chw, src.data(), dst.data());
  for (int c = 0; c < 2; ++c)
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 4; ++x) {
        const int sy = y + 1, sx = x - 1;
        const float want = sy < 3 && sx >= 0 ? src[c * 12 + sy * 4 + sx] : 0.0f;
        EXPECT_EQ(dst[c * 12 + y * 4 + x], want) << c << "," << y << "," << x;
      }
}

TEST(Augment, CenteredWindowWithoutFlipIsTheIdentity) {
  const Shape chw{2, 3, 4};
  std::vector<float> src = coded_image(), dst(24);
  apply_sample_augment({3, 3, false}, AugmentOptions{3, false}, chw, src.data(), dst.data());
  EXPECT_EQ(dst, src);
}

TEST(Augment, FlipMirrorsEachRow) {
  const Shape chw{2, 3, 4};
  std::vector<float> src = coded_image(), dst(24);
  apply_sample_augment({0, 0, true}, AugmentOptions{0, true}, chw, src.data(), dst.data());
  EXPECT_EQ(dst[0], src[3]);
  EXPECT_EQ(dst[12 + 4 + 1], src[12 + 4 + 2]);
}

TEST(Augment, NormalizeUsesEachChannelsMeanAndStd) {
  const Shape chw{2, 1, 2};
  std::vector<float> img{0.5f, 1.0f, 0.25f, 0.75f};
  const float mean[2] = {0.5f, 0.25f}, stdev[2] = {0.5f, 0.25f};
  normalize_channels(img.data(), chw, mean, stdev);
  EXPECT_EQ(img, (std::vector<float>{0.0f, 1.0f, 0.0f, 2.0f}));
}

}  // namespace
}  // namespace frugal
