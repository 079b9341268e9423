#include "training/modes/outer_product.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "core/error.h"
#include "ops/conv.h"
#include "ops/linear.h"

namespace frugal {
namespace {

const Conv2d* as_conv(const Layer& layer) { return dynamic_cast<const Conv2d*>(&layer); }

Shape with_batch(Shape shape, int64_t batch) {
  shape[0] = batch;
  return shape;
}

// Floats per sample of the input and of the output gradient.
int64_t row_floats(const Shape& shape) { return shape.numel() / shape[0]; }

Conv2dGeometry with_batch(Conv2dGeometry g, int64_t batch) {
  g.batch = batch;
  return g;
}

}  // namespace

OuterProductMode::OuterProductMode(const OuterProductOptions& options, const Layer& layer, int layer_index,
                                   uint64_t seed)
    : options_(options), layer_(layer), layer_index_(layer_index), seed_(seed) {}

bool OuterProductMode::supports(const Layer& layer) const {
  return as_conv(layer) != nullptr || dynamic_cast<const Linear*>(&layer) != nullptr;
}

int64_t OuterProductMode::rows_per_step(int64_t batch) const {
  int64_t k = options_.k > 0 ? options_.k : static_cast<int64_t>(std::llround(options_.k_fraction * double(batch)));
  return std::clamp<int64_t>(k, 1, batch);
}

int64_t OuterProductMode::weight_grad_macs_per_sample() const {
  if (const Conv2d* conv = as_conv(layer_)) {
    const Conv2dGeometry& g = conv->geometry();
    return g.out_channels * (g.in_channels / g.groups) * g.kernel_h * g.kernel_w * g.out_h() * g.out_w();
  }
  const auto& linear = dynamic_cast<const Linear&>(layer_);
  return linear.in_features() * linear.out_features();
}

std::string OuterProductMode::describe() const {
  const int64_t batch = training_batch_ > 0 ? training_batch_ : layer_.input_shapes().at(0)[0];
  const int64_t k = rows_per_step(batch);
  std::ostringstream s;
  s << "outer_product(k=" << k << " of " << batch << ", " << sampling_policy_name(options_.policy) << ", ";
  if (options_.memory)
    s << "memory, decay=" << options_.decay;
  else
    s << "no memory";
  s << "; dW FLOPs " << std::llround(100.0 * double(k) / double(batch)) << "% of exact)";
  return s.str();
}

size_t OuterProductMode::backward_workspace_bytes(const Layer& layer) const {
  const int64_t batch = layer.input_shapes().at(0)[0];
  if (training_batch_ == 0) training_batch_ = batch;
  const int64_t k = rows_per_step(batch);
  size_t floats = static_cast<size_t>(k * (row_floats(layer.input_shapes().at(0)) + row_floats(layer.output_shape())));
  size_t bytes = floats * sizeof(float);
  if (const Conv2d* conv = as_conv(layer)) {  // the weight gradient over a batch of K
    const Conv2dGeometry gk = with_batch(conv->geometry(), k);
    bytes += std::max(layer.kernels().conv2d_forward_workspace_bytes(gk), layer.kernels().conv2d_backward_workspace_bytes(gk));
  }
  return std::max(layer.backward_workspace_bytes(), bytes);
}

void OuterProductMode::ensure_memory() {
  if (!options_.memory || memory_x_.value.defined()) return;
  FRUGAL_CHECK(training_batch_ > 0, InternalError,
               "outer_product memory of layer '" + layer_.name() +
                   "': the training batch is not known yet; plan a training step (Executor::training_plan) "
                   "before reading or loading the mode's state");
  const AllocTag tag{MemoryCategory::OptimizerState, layer_.name().c_str()};  // the layer outlives the mode
  Allocator* alloc = &device_runtime(layer_.device()).allocator();
  memory_x_ = {layer_.name() + ".aop_memory_x",
               Tensor::zeros(with_batch(layer_.input_shapes().at(0), training_batch_), DType::F32, alloc, tag),
               Tensor(), false, false};
  memory_dy_ = {layer_.name() + ".aop_memory_dy",
                Tensor::zeros(with_batch(layer_.output_shape(), training_batch_), DType::F32, alloc, tag), Tensor(),
                false, false};
}

std::vector<Parameter*> OuterProductMode::state() {
  if (!options_.memory) return {};
  ensure_memory();
  return {&memory_x_, &memory_dy_};
}

void OuterProductMode::backward(Layer& layer, const BackwardArgs& args, const std::vector<const Tensor*>& stash) {
  auto& weighted = dynamic_cast<WeightedLayer&>(layer);
  const Tensor& x = *args.inputs.at(0);
  const Tensor& dy = *args.grad_output;
  if (args.grad_inputs.at(0)) weighted.backward_data(dy, weighted.weight().value, *args.grad_inputs[0], args.workspace);
  weighted.backward_bias(dy);

  const int64_t batch = x.dim(0), k = rows_per_step(batch);
  const int64_t fx = row_floats(x.shape()), fy = row_floats(dy.shape());
  // Rows b < slots have a memory row: A_b = M_X,b + X_b (in place, in the memory); the others are X_b.
  ensure_memory();
  const int64_t slots = options_.memory ? std::min(batch, memory_x_.value.dim(0)) : 0;
  float* mx = slots ? memory_x_.value.device_f32() : nullptr;
  float* mg = slots ? memory_dy_.value.device_f32() : nullptr;
  const Kernels& kern = layer.kernels();
  scores_.resize(batch);
  double* scores = scores_.data();  // the CPU writes the host copy directly
  if (layer.device() != Device::CPU) {
    if (!device_scores_.defined() || device_scores_.numel() != batch)
      device_scores_ = Tensor::empty({batch}, DType::F64, &kern.runtime().allocator(), {MemoryCategory::Workspace, ""});
    scores = device_scores_.device_data<double>();
  }
  kern.outer_product_scores(batch, slots, fx, fy, x.device_f32(), dy.device_f32(), mx, mg, scores);
  if (scores != scores_.data())
    kern.runtime().copy(scores_.data(), Device::CPU, scores, layer.device(), sizeof(double) * batch);
  const RngKey key{seed_, (static_cast<uint64_t>(RngStream::Sampling) << 32) | static_cast<uint64_t>(layer_index_),
                   static_cast<uint64_t>(step_)};
  select_rows(options_.policy, scores_, k, key, chosen_, order_);

  // dW = sum over the chosen rows, gathered into [K, ...] blocks: one GEMM (conv: one weight-gradient
  // pass over a batch of K) instead of B.
  float* as = args.workspace;
  float* gs = as + k * fx;
  kern.outer_product_gather(k, chosen_.data(), slots, fx, fy, x.device_f32(), dy.device_f32(), mx, mg, as, gs);
  float* dw = weighted.weight().grad.device_f32();
  if (const Conv2d* conv = as_conv(layer)) {
    kern.conv2d_backward_weight(with_batch(conv->geometry(), k), as, gs, dw, nullptr, gs + k * fy, false);
  } else {
    const auto& linear = dynamic_cast<const Linear&>(layer);
    kern.linear_backward_weight(k, linear.in_features(), linear.out_features(), as, gs, dw, nullptr, false);
  }

  // The applied rows leave the memory; the rest decays.
  if (slots)
    kern.outer_product_forget(k, chosen_.data(), slots, fx, fy, static_cast<float>(std::sqrt(options_.decay)), mx, mg);
}

}  // namespace frugal
