#include "ops/pool_geometry.h"

#include "core/error.h"

namespace frugal {
namespace {

void check_axis(int64_t in, int64_t kernel, int64_t stride, int64_t pad, const char* axis,
                const std::string& where) {
  auto fail = [&](const std::string& what) {
    throw ShapeError(where + ": pooling " + what + " (axis " + axis + ": input " + std::to_string(in) +
                     ", kernel " + std::to_string(kernel) + ", stride " + std::to_string(stride) +
                     ", padding " + std::to_string(pad) + ")");
  };
  if (in < 1) fail("input size must be at least 1");
  if (kernel < 1) fail("kernel size must be at least 1");
  if (stride < 1) fail("stride must be at least 1");
  if (pad < 0) fail("padding must not be negative");
  if (pad > kernel / 2)
    fail("padding must be at most half the kernel, " + std::to_string(kernel / 2) + ", but is " +
         std::to_string(pad));
  if (in + 2 * pad < kernel) fail("kernel is larger than the padded input");
}

}  // namespace

void validate_pool2d(const Pool2dGeometry& g, const std::string& where, PoolKind kind) {
  FRUGAL_CHECK(g.batch >= 1 && g.channels >= 1, ShapeError,
               where + ": pooling needs batch and channels >= 1, got batch " + std::to_string(g.batch) +
                   ", channels " + std::to_string(g.channels));
  check_axis(g.in_h, g.kernel_h, g.stride_h, g.pad_h, "h", where);
  check_axis(g.in_w, g.kernel_w, g.stride_w, g.pad_w, "w", where);
  FRUGAL_CHECK(kind != PoolKind::Max || g.kernel_h * g.kernel_w <= 255, ShapeError,
               where + ": max pool window " + std::to_string(g.kernel_h) + "x" + std::to_string(g.kernel_w) +
                   " has more than 255 elements (the argmax is stored in one byte)");
}

}  // namespace frugal
