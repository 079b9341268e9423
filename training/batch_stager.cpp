#include "training/batch_stager.h"

#include <algorithm>
#include <cstring>

#include "core/allocator.h"
#include "core/error.h"
#include "memory/step_description.h"

namespace frugal {

// One batch on its way: pinned host copies the upload reads, the device tensors it writes, and the
// events that order the two queues. `uploaded` happens when both tensors have landed; `consumed` is
// recorded behind every step queued before this slot is refilled, the last of which read it.
struct BatchStager::Slot {
  Tensor host_images, host_labels;
  Tensor device_images, device_labels;
  std::unique_ptr<DeviceEvent> uploaded, consumed;
  int64_t rows = 0;
  int64_t global_rows = 0;  // the step's samples over all data-parallel ranks (Batch::global_size)
};

namespace {

Shape with_rows(const Shape& shape, int64_t rows) {
  Shape s = shape;
  s[0] = rows;
  return s;
}

}  // namespace

BatchStager::BatchStager(Loader& loader, Device device) : loader_(loader), device_(device) {
  if (device_ == Device::CPU) return;
  DeviceRuntime& rt = device_runtime(device_);
  for (auto& s : slots_) {
    s = std::make_unique<Slot>();
    s->uploaded = rt.create_event();
    s->consumed = rt.create_event();
  }
}

BatchStager::~BatchStager() {
  if (device_ == Device::CPU) return;
  try {
    DeviceRuntime& rt = device_runtime(device_);
    for (auto& s : slots_) rt.host_waits(*s->uploaded);  // the copy queue must not write freed memory
  } catch (const Error&) {
    // A failing device has nothing left to write into our buffers; there is nobody to tell here.
  }
}

void BatchStager::start_epoch(int64_t epoch, int64_t skip_batches) {
  loader_.start_epoch(epoch, skip_batches);
  ahead_ = false;
}

bool BatchStager::stage(Slot& s) {
  Batch host;
  if (!loader_.next(host)) return false;
  DeviceRuntime& rt = device_runtime(device_);
  const int64_t rows = host.images.dim(0);
  const int64_t capacity = std::max<int64_t>(rows, loader_.options().batch_size);
  if (!s.device_images.defined() || s.device_images.dim(0) < rows ||
      with_rows(s.device_images.shape(), rows) != host.images.shape()) {
    rt.host_waits(*s.uploaded);  // the buffers being replaced may still be read by the copy queue
    const Shape images = with_rows(host.images.shape(), capacity), labels{capacity};
    s.host_images = Tensor::empty(images, DType::F32, &rt.pinned_allocator(), {MemoryCategory::Data, "batch staging"});
    s.host_labels = Tensor::empty(labels, DType::I32, &rt.pinned_allocator(), {MemoryCategory::Data, "batch staging"});
    s.device_images = Tensor::empty(images, DType::F32, &rt.allocator(), {MemoryCategory::Data, "batch staging"});
    s.device_labels = Tensor::empty(labels, DType::I32, &rt.allocator(), {MemoryCategory::Data, "batch staging"});
  }
  FRUGAL_CHECK(host.labels.dtype() == DType::I32 && host.labels.numel() == rows, InternalError,
               "batch staging: labels " + host.labels.shape().str() + " for images " + host.images.shape().str());
  rt.host_waits(*s.uploaded);  // the slot's last upload has finished reading its pinned memory
  std::memcpy(s.host_images.raw(), host.images.raw(), host.images.nbytes());
  std::memcpy(s.host_labels.raw(), host.labels.raw(), host.labels.nbytes());
  rt.record_compute(*s.consumed);
  rt.upload_async(s.device_images.raw(), s.host_images.raw(), host.images.nbytes(), s.consumed.get(), *s.uploaded);
  rt.upload_async(s.device_labels.raw(), s.host_labels.raw(), host.labels.nbytes(), nullptr, *s.uploaded);
  s.rows = rows;
  s.global_rows = host.global_size;
  return true;
}

bool BatchStager::next(Batch& out) {
  if (device_ == Device::CPU) return loader_.next(out);
  DeviceRuntime& rt = device_runtime(device_);
  rt.sample_memory();
  if (!ahead_ && !stage(*slots_[current_])) return false;
  Slot& s = *slots_[current_];
  rt.compute_waits(*s.uploaded);
  out.size = s.rows;
  out.global_size = s.global_rows;
  out.images = s.device_images.slice0(0, s.rows);
  out.labels = s.device_labels.slice0(0, s.rows);
  // Batch k+1 goes into the other slot now, while step k (queued after this returns) computes. That slot
  // last held batch k-1, whose step is already queued: its upload waits behind that step on the device.
  current_ ^= 1;
  ahead_ = stage(*slots_[current_]);
  return true;
}

size_t BatchStager::device_bytes() const {
  size_t n = 0;
  for (const auto& s : slots_)
    if (s) n += aligned_bytes(s->device_images.nbytes()) + aligned_bytes(s->device_labels.nbytes());
  return n;
}

size_t BatchStager::pinned_bytes() const {
  size_t n = 0;
  for (const auto& s : slots_)
    if (s) n += s->host_images.nbytes() + s->host_labels.nbytes();
  return n;
}

}  // namespace frugal
