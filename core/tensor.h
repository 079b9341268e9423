// A contiguous, row-major tensor (NCHW for images): shape, dtype, device and a reference to a buffer.
// Copies share the buffer (like a shared_ptr); clone() copies the data. A tensor either owns its buffer
// (returned to its allocator when the last reference goes) or wraps memory owned elsewhere, such as an
// offset in a planned arena.
//
// Two ways to reach the bytes: data<T>() / f32() for host code, which refuses a tensor that is not in
// CPU memory, and device_data<T>() / device_f32() for kernel arguments, a pointer in the tensor's own
// device memory (ops/kernels.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/allocator.h"
#include "core/device.h"
#include "core/dtype.h"
#include "core/shape.h"

namespace frugal {

class Storage {
 public:
  Storage(void* data, size_t bytes, Allocator* owner) : data_(data), bytes_(bytes), owner_(owner) {}
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  // Points a non-owning storage at new memory: planned buffers keep one Tensor per buffer and move
  // it to wherever the planner placed the buffer this step. InternalError on an owning storage.
  void rebind(void* data);

 private:
  void* data_;
  size_t bytes_;
  Allocator* owner_;  // null: memory owned elsewhere
};

class Tensor {
 public:
  Tensor() = default;

  // Uninitialised tensor from `alloc` (the default CPU allocator when null), on alloc's device.
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Allocator* alloc = nullptr,
                      AllocTag tag = {});
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Allocator* alloc = nullptr,
                      AllocTag tag = {});
  // Non-owning view of `data`, which must stay valid while the tensor is used.
  static Tensor wrap(void* data, const Shape& shape, DType dtype = DType::F32,
                     Device device = Device::CPU);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int ndim() const { return shape_.ndim(); }
  int64_t dim(int i) const { return shape_.dim(i); }
  int64_t numel() const { return shape_.numel(); }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }

  void* raw() const { return storage_ ? static_cast<char*>(storage_->data()) + offset_ : nullptr; }
  Storage* storage() const { return storage_.get(); }
  // Host access; throws InternalError when T does not match the dtype or the tensor is not on the CPU.
  template <class T> T* data() const {
    check_dtype(dtype_of<T>());
    check_host();
    return static_cast<T*>(raw());
  }
  float* f32() const { return data<float>(); }
  // Kernel arguments: the address in the tensor's device memory (never dereferenced by host code
  // unless the device is the CPU).
  template <class T> T* device_data() const {
    check_dtype(dtype_of<T>());
    return static_cast<T*>(raw());
  }
  float* device_f32() const { return device_data<float>(); }

  // Same buffer, new shape with the same element count.
  Tensor reshape(const Shape& shape) const;
  // Elements [begin, end) of the outermost dimension, sharing the buffer.
  Tensor slice0(int64_t begin, int64_t end) const;
  // A copy with its own buffer from `alloc` (null: the device runtime's allocator of this tensor's
  // device), which may be on another device.
  Tensor clone(Allocator* alloc = nullptr, AllocTag tag = {}) const;
  // The same values on `device` (this tensor itself when it is there already).
  Tensor to(Device device, AllocTag tag = {}) const;
  void copy_from(const Tensor& src);  // same shape and dtype required; any two devices
  void fill(float value);             // F32, host only
  void zero();                        // any device

 private:
  void check_dtype(DType want) const;
  void check_host() const;

  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;  // bytes
  Shape shape_;
  DType dtype_ = DType::F32;
  Device device_ = Device::CPU;
};

}  // namespace frugal
