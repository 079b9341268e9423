#include "core/tensor.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/counts.h"
#include "core/error.h"

namespace frugal {

Storage::~Storage() {
  if (owner_) owner_->deallocate(data_, bytes_);
}

void Storage::rebind(void* data) {
  if (owner_) throw InternalError("rebind of a storage that owns its memory");
  data_ = data;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Allocator* alloc, AllocTag tag) {
  Allocator* a = alloc ? alloc : &default_cpu_allocator();
  size_t bytes = checked_bytes(shape.numel(), dtype_size(dtype), "tensor");
  Tensor t;
  t.storage_ = std::make_shared<Storage>(a->allocate(bytes, tag), bytes, a);
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.device_ = a->device();
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Allocator* alloc, AllocTag tag) {
  Tensor t = empty(shape, dtype, alloc, tag);
  t.zero();
  return t;
}

Tensor Tensor::wrap(void* data, const Shape& shape, DType dtype, Device device) {
  Tensor t;
  t.storage_ = std::make_shared<Storage>(data, checked_bytes(shape.numel(), dtype_size(dtype), "tensor"), nullptr);
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.device_ = device;
  return t;
}

Tensor Tensor::reshape(const Shape& shape) const {
  if (shape.numel() != numel())
    throw ShapeError("cannot reshape " + shape_.str() + " (" + std::to_string(numel()) +
                     " elements) to " + shape.str() + " (" + std::to_string(shape.numel()) +
                     " elements)");
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

Tensor Tensor::slice0(int64_t begin, int64_t end) const {
  if (ndim() == 0 || begin < 0 || end > shape_[0] || begin > end)
    throw ShapeError("slice [" + std::to_string(begin) + ", " + std::to_string(end) +
                     ") out of range for shape " + shape_.str());
  Tensor t = *this;
  int64_t inner = shape_[0] == 0 ? 0 : numel() / shape_[0];
  t.offset_ += static_cast<size_t>(begin * inner) * dtype_size(dtype_);
  t.shape_[0] = end - begin;
  return t;
}

Tensor Tensor::clone(Allocator* alloc, AllocTag tag) const {
  Tensor t = empty(shape_, dtype_, alloc ? alloc : &device_runtime(device_).allocator(), tag);
  t.copy_from(*this);
  return t;
}

Tensor Tensor::to(Device device, AllocTag tag) const {
  if (device == device_) return *this;
  return clone(&device_runtime(device).allocator(), tag);
}

void Tensor::copy_from(const Tensor& src) {
  if (src.shape_ != shape_ || src.dtype_ != dtype_)
    throw ShapeError(std::string("copy between mismatched tensors: ") + src.shape_.str() + " " +
                     dtype_name(src.dtype_) + " into " + shape_.str() + " " + dtype_name(dtype_));
  if (nbytes() == 0 || raw() == src.raw()) return;
  if (device_ == Device::CPU && src.device_ == Device::CPU) {
    std::memcpy(raw(), src.raw(), nbytes());
    return;
  }
  device_runtime(device_ == Device::CPU ? src.device_ : device_).copy(raw(), device_, src.raw(), src.device_, nbytes());
}

void Tensor::fill(float value) {
  float* p = f32();
  std::fill(p, p + numel(), value);
}

void Tensor::zero() {
  if (nbytes() == 0) return;
  if (device_ == Device::CPU)
    std::memset(raw(), 0, nbytes());
  else
    device_runtime(device_).zero(raw(), nbytes());
}

void Tensor::check_host() const {
  if (device_ != Device::CPU)
    throw InternalError(std::string("host access to a ") + device_name(device_) + " tensor " + shape_.str() +
                        " (copy it to the CPU first)");
}

void Tensor::check_dtype(DType want) const {
  if (want != dtype_)
    throw InternalError(std::string("tensor of dtype ") + dtype_name(dtype_) + " read as " +
                        dtype_name(want));
}

}  // namespace frugal
