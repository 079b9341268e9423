#include "training/modes/outer_product.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "core/error.h"
#include "ops/conv.h"
#include "ops/cpu/conv_cpu.h"
#include "ops/cpu/linear_cpu.h"
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

double squared_norm(const float* row, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += double(row[i]) * row[i];
  return s;
}

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
  if (const Conv2d* conv = as_conv(layer)) floats += conv2d_workspace_floats(with_batch(conv->geometry(), k));
  return std::max(layer.backward_workspace_bytes(), floats * sizeof(float));
}

void OuterProductMode::ensure_memory() {
  if (!options_.memory || memory_x_.value.defined()) return;
  FRUGAL_CHECK(training_batch_ > 0, InternalError,
               "outer_product memory of layer '" + layer_.name() +
                   "': the training batch is not known yet; plan a training step (Executor::training_plan) "
                   "before reading or loading the mode's state");
  const AllocTag tag{MemoryCategory::OptimizerState, layer_.name().c_str()};  // the layer outlives the mode
  memory_x_ = {layer_.name() + ".aop_memory_x",
               Tensor::zeros(with_batch(layer_.input_shapes().at(0), training_batch_), DType::F32, nullptr, tag),
               Tensor(), false, false};
  memory_dy_ = {layer_.name() + ".aop_memory_dy",
                Tensor::zeros(with_batch(layer_.output_shape(), training_batch_), DType::F32, nullptr, tag), Tensor(),
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
  float* mx = slots ? memory_x_.value.f32() : nullptr;
  float* mg = slots ? memory_dy_.value.f32() : nullptr;
  a_rows_.resize(batch);
  g_rows_.resize(batch);
  scores_.resize(batch);
#pragma omp parallel for schedule(static) if (batch * (fx + fy) >= (int64_t{1} << 18))
  for (int64_t b = 0; b < batch; ++b) {
    if (b < slots) {
      float* a = mx + b * fx;
      float* g = mg + b * fy;
      const float* xb = x.f32() + b * fx;
      const float* yb = dy.f32() + b * fy;
      for (int64_t i = 0; i < fx; ++i) a[i] += xb[i];
      for (int64_t i = 0; i < fy; ++i) g[i] += yb[i];
      a_rows_[b] = a;
      g_rows_[b] = g;
    } else {
      a_rows_[b] = x.f32() + b * fx;
      g_rows_[b] = dy.f32() + b * fy;
    }
    scores_[b] = squared_norm(a_rows_[b], fx) * squared_norm(g_rows_[b], fy);
  }
  const RngKey key{seed_, (static_cast<uint64_t>(RngStream::Sampling) << 32) | static_cast<uint64_t>(layer_index_),
                   static_cast<uint64_t>(step_)};
  select_rows(options_.policy, scores_, k, key, chosen_, order_);

  // dW = sum over the chosen rows, gathered into [K, ...] blocks: one GEMM (conv: one weight-gradient
  // pass over a batch of K) instead of B.
  float* as = args.workspace;
  float* gs = as + k * fx;
  for (int64_t j = 0; j < k; ++j) {
    std::memcpy(as + j * fx, a_rows_[chosen_[j]], sizeof(float) * fx);
    std::memcpy(gs + j * fy, g_rows_[chosen_[j]], sizeof(float) * fy);
  }
  float* dw = weighted.weight().grad.f32();
  if (const Conv2d* conv = as_conv(layer)) {
    conv2d_backward_weight_cpu(with_batch(conv->geometry(), k), as, gs, dw, nullptr, gs + k * fy, false);
  } else {
    const auto& linear = dynamic_cast<const Linear&>(layer);
    linear_backward_weight_cpu(k, linear.in_features(), linear.out_features(), as, gs, dw, nullptr, false);
  }

  if (!slots) return;
  // The applied rows leave the memory; the rest decays.
  for (int64_t b : chosen_) {
    if (b >= slots) continue;
    std::fill(mx + b * fx, mx + (b + 1) * fx, 0.0f);
    std::fill(mg + b * fy, mg + (b + 1) * fy, 0.0f);
  }
  if (options_.decay != 1.0) {
    const float f = static_cast<float>(std::sqrt(options_.decay));
    for (int64_t i = 0; i < slots * fx; ++i) mx[i] *= f;
    for (int64_t i = 0; i < slots * fy; ++i) mg[i] *= f;
  }
}

}  // namespace frugal
