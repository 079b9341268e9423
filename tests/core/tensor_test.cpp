#include "core/tensor.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace frugal {
namespace {

TEST(Shape, NumelAndString) {
  Shape s{2, 3, 4};
  EXPECT_EQ(s.numel(), 24);
  EXPECT_EQ(s.str(), "[2, 3, 4]");
  EXPECT_EQ(s.dim(-1), 4);
}

TEST(Shape, OutOfRangeDimensionNamesTheShape) {
  Shape s{2, 3};
  try {
    s.dim(5);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos) << e.what();
  }
}

TEST(Tensor, BufferIsAlignedAndReturnedToAllocator) {
  auto& alloc = default_cpu_allocator();
  size_t before = alloc.live_bytes();
  {
    Tensor t = Tensor::zeros({3, 5});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % kTensorAlignment, 0u);
    EXPECT_EQ(alloc.live_bytes(), before + 60);
    EXPECT_EQ(t.f32()[14], 0.0f);
  }
  EXPECT_EQ(alloc.live_bytes(), before);
}

TEST(Tensor, ReshapeSharesBufferAndChecksCount) {
  Tensor t = Tensor::zeros({2, 6});
  Tensor r = t.reshape({3, 4});
  r.f32()[5] = 7;
  EXPECT_EQ(t.f32()[5], 7);
  EXPECT_THROW(t.reshape({5}), ShapeError);
}

TEST(Tensor, Slice0ViewsRows) {
  Tensor t = Tensor::empty({4, 3});
  for (int i = 0; i < 12; ++i) t.f32()[i] = static_cast<float>(i);
  Tensor s = t.slice0(1, 3);
  EXPECT_EQ(s.shape(), Shape({2, 3}));
  EXPECT_EQ(s.f32()[0], 3.0f);
  EXPECT_THROW(t.slice0(2, 5), ShapeError);
}

TEST(Tensor, TypedAccessChecksDtype) {
  Tensor t = Tensor::zeros({4}, DType::U8);
  EXPECT_NO_THROW(t.data<uint8_t>());
  EXPECT_THROW(t.f32(), InternalError);
}

TEST(Tensor, CloneCopiesData) {
  Tensor t = Tensor::empty({3});
  t.fill(2.5f);
  Tensor c = t.clone();
  t.fill(0);
  EXPECT_EQ(c.f32()[2], 2.5f);
}

}  // namespace
}  // namespace frugal
