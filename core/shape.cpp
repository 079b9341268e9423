#include "core/shape.h"

#include "core/counts.h"
#include "core/error.h"

namespace frugal {

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::vector<int64_t>(dims)) {}

Shape::Shape(const std::vector<int64_t>& dims) {
  if (dims.size() > kMaxDims)
    throw ShapeError("shape has " + std::to_string(dims.size()) + " dimensions; at most " +
                     std::to_string(kMaxDims) + " are supported");
  for (int64_t d : dims)
    if (d < 0) throw ShapeError("negative dimension " + std::to_string(d) + " in a shape");
  ndim_ = static_cast<int>(dims.size());
  for (int i = 0; i < ndim_; ++i) dims_[i] = dims[i];
}

int64_t Shape::dim(int i) const {
  int j = i < 0 ? i + ndim_ : i;
  if (j < 0 || j >= ndim_)
    throw ShapeError("dimension " + std::to_string(i) + " out of range for shape " + str());
  return dims_[j];
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < ndim_; ++i)
    if (dims_[i] == 0) return 0;  // empty, however large the other dimensions
  for (int i = 0; i < ndim_; ++i)
    if (__builtin_mul_overflow(n, dims_[i], &n) || n > kMaxElements)
      throw ShapeError("shape " + str() + " holds more than 2^60 elements");
  return n;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < ndim_; ++i) {
    if (i) s += ", ";
    s += std::to_string(dims_[i]);
  }
  return s + "]";
}

bool Shape::operator==(const Shape& o) const {
  if (ndim_ != o.ndim_) return false;
  for (int i = 0; i < ndim_; ++i)
    if (dims_[i] != o.dims_[i]) return false;
  return true;
}

}  // namespace frugal
