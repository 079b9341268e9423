// Element and byte counts never wrap: a size too large for 64-bit arithmetic is a ShapeError (or, for an
// allocation, a MemoryBudgetError) before anything is allocated or written.
#include "core/counts.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/tensor.h"

namespace frugal {
namespace {

constexpr int64_t k2to30 = int64_t{1} << 30;

std::string shape_error(const Shape& s) {
  try {
    s.numel();
  } catch (const ShapeError& e) {
    return e.what();
  }
  return "";
}

TEST(Counts, NumelUpToTheLimitIsExact) {
  EXPECT_EQ((Shape{k2to30, k2to30}.numel()), kMaxElements);
  EXPECT_EQ((Shape{3, 5, 7}.numel()), 105);
  EXPECT_EQ(Shape{}.numel(), 1);
}

TEST(Counts, NumelBeyondTheLimitNamesTheShape) {
  EXPECT_NE(shape_error(Shape{k2to30, k2to30, 2}).find("[1073741824, 1073741824, 2]"), std::string::npos);
  // 2^32 x 2^32 wraps to exactly 0 in 64-bit arithmetic: it must not read as an empty shape.
  EXPECT_NE(shape_error(Shape{int64_t{1} << 32, int64_t{1} << 32}), "");
  EXPECT_NE(shape_error(Shape{INT64_MAX, 2}), "");
}

TEST(Counts, AZeroDimensionMakesAnyShapeEmpty) {
  EXPECT_EQ((Shape{INT64_MAX, INT64_MAX, 0}.numel()), 0);
  EXPECT_EQ((Shape{0, INT64_MAX}.numel()), 0);
}

TEST(Counts, CheckedElementsMultipliesWithinTheLimit) {
  EXPECT_EQ(checked_elements(k2to30, k2to30, "x"), kMaxElements);
  EXPECT_EQ(checked_elements(0, INT64_MAX, "x"), 0);
  EXPECT_THROW(checked_elements(k2to30 * 2, k2to30, "x"), ShapeError);
  EXPECT_THROW(checked_elements(INT64_MAX, INT64_MAX, "x"), ShapeError);
  EXPECT_THROW(checked_elements(-1, 2, "x"), ShapeError);
  try {
    checked_elements(INT64_MAX, 3, "batch of images");
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("batch of images"), std::string::npos) << e.what();
  }
}

TEST(Counts, CheckedBytesCoversTheWidestDtypeAtTheLimit) {
  EXPECT_EQ(checked_bytes(kMaxElements, 8, "x"), static_cast<size_t>(kMaxElements) * 8);
  EXPECT_EQ(checked_bytes(0, 8, "x"), 0u);
  EXPECT_THROW(checked_bytes(kMaxElements, 9, "x"), ShapeError);
  EXPECT_THROW(checked_bytes(INT64_MAX, 8, "x"), ShapeError);
  EXPECT_THROW(checked_bytes(-1, 4, "x"), ShapeError);
}

TEST(Counts, AnOversizedTensorFailsBeforeAllocating) {
  auto& alloc = default_cpu_allocator();
  const uint64_t before = alloc.allocation_count();
  EXPECT_THROW(Tensor::empty({int64_t{1} << 32, int64_t{1} << 32}), ShapeError);
  EXPECT_THROW(Tensor::empty({k2to30, k2to30, 4}, DType::F64), ShapeError);
  EXPECT_EQ(alloc.allocation_count(), before);
}

TEST(Counts, AnAllocationNearSizeMaxIsRefusedRatherThanRoundedToAFewBytes) {
  // Rounding SIZE_MAX - 10 up to the 64-byte alignment wraps to 0 in size_t arithmetic.
  EXPECT_THROW(default_cpu_allocator().allocate(SIZE_MAX - 10, {}), MemoryBudgetError);
}

}  // namespace
}  // namespace frugal
