#include "training/modes/quantized.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "ops/activation.h"
#include "ops/norm.h"
#include "training/graph.h"

namespace frugal {
namespace {

constexpr size_t kAlign = 64;  // bytes; the workspace is split into aligned float regions

size_t align_up(size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

size_t float_bytes(const Shape& shape) { return static_cast<size_t>(shape.numel()) * sizeof(float); }

// A float tensor of `shape` over `data` on `device`, reusing `view` so steady-state steps allocate nothing.
const Tensor& view_of(Tensor& view, float* data, const Shape& shape, Device device) {
  if (!view.defined() || view.shape() != shape || view.device() != device)
    view = Tensor::wrap(data, shape, DType::F32, device);
  else
    view.storage()->rebind(data);
  return view;
}

// The [2, C] mean/std scratch of a mode, on the layer's device, made once.
float* mean_std_of(Tensor& scratch, const Layer& layer, int64_t channels) {
  if (!scratch.defined() || scratch.numel() != 2 * channels)
    scratch = Tensor::empty({2, channels}, DType::F32, &device_runtime(layer.device()).allocator(),
                            {MemoryCategory::Workspace, layer.name().c_str()});
  return scratch.device_f32();
}

std::string producer_name(const Graph& graph, int producer) {
  if (producer == Graph::kInput) return "the network input";
  const Layer& p = *graph.node(producer).layer;
  return std::string(p.kind()) + " '" + p.name() + "'";
}

}  // namespace

// ---- BatchNorm -------------------------------------------------------------------------------------

bool QuantizedBatchNormMode::supports(const Layer& layer) const {
  return dynamic_cast<const BatchNorm*>(&layer) != nullptr;
}

SavedNeeds QuantizedBatchNormMode::keeps(const Layer& layer) const {
  return {{false}, false, layer.saved_needs().aux};  // mean and 1/std per channel: 8C bytes
}

std::vector<StashSpec> QuantizedBatchNormMode::stash_specs(const Layer& layer) const {
  return code_.stash_specs(layer.output_shape());
}

size_t QuantizedBatchNormMode::backward_workspace_bytes(const Layer& layer) const {
  return float_bytes(layer.output_shape());  // x̃
}

void QuantizedBatchNormMode::after_forward(Layer& layer, const ForwardArgs& args,
                                           const std::vector<Tensor*>& stash) {
  auto& bn = static_cast<BatchNorm&>(layer);
  const int64_t c = bn.channels();
  FRUGAL_CHECK(args.aux.size() == 2 && args.aux[1], InternalError,
               "quantized: BatchNorm '" + layer.name() + "' ran without its statistics");
  // y = γx̂ + β has mean β and std |γ|·std(x̂) = |γ|·sqrt(var / (var + eps)) = |γ|·sqrt(1 - eps·invstd²).
  float* mean = mean_std_of(mean_std_, layer, c);
  const Kernels& k = layer.kernels();
  k.batchnorm_output_mean_std(c, bn.gamma().value.device_f32(), bn.beta().value.device_f32(),
                              args.aux[1]->device_f32(), bn.eps(), mean, mean + c);
  code_.encode(k, *args.output, mean, mean + c, stash);
}

void QuantizedBatchNormMode::backward(Layer& layer, const BackwardArgs& args, const std::vector<const Tensor*>&) {
  auto& bn = static_cast<BatchNorm&>(layer);
  float* ws = args.workspace;
  code_.normalized(bn.gamma().value.device_f32(), bn.beta().value.device_f32(), ws);
  bn.backward_from_normalized(view_of(xhat_, ws, layer.output_shape(), layer.device()), *args.aux.at(1),
                              *args.grad_output, args.grad_inputs.at(0));
}

// ---- ReLU ------------------------------------------------------------------------------------------

bool QuantizedReluMode::supports(const Layer& layer) const { return is_relu(layer); }

std::string QuantizedReluMode::describe() const {
  return "quantized(bits=" + std::to_string(code().bits()) + ")";
}

void QuantizedReluMode::link(const Graph& graph, int node, const std::vector<BackwardMode*>& modes) {
  const int producer = graph.node(node).inputs.at(0);
  auto* bn = producer == Graph::kInput ? nullptr : dynamic_cast<QuantizedBatchNormMode*>(modes.at(producer));
  shared_ = bn ? &bn->code() : nullptr;
}

std::vector<StashSpec> QuantizedReluMode::stash_specs(const Layer& layer) const {
  if (shared_) return {};
  return own_.stash_specs(layer.input_shapes().at(0));
}

void QuantizedReluMode::after_forward(Layer& layer, const ForwardArgs& args, const std::vector<Tensor*>& stash) {
  // Only called with a stash, i.e. when the code is this ReLU's own: the grid from y's own statistics.
  const Tensor& y = *args.inputs.at(0);
  const int64_t n = y.dim(0), c = y.dim(1);
  float* mean = mean_std_of(mean_std_, layer, c);
  const Kernels& k = layer.kernels();
  k.channel_mean_std(n, c, y.numel() / (n * c), y.device_f32(), mean, mean + c);
  own_.encode(k, y, mean, mean + c, stash);
}

void QuantizedReluMode::backward(Layer&, const BackwardArgs& args, const std::vector<const Tensor*>&) {
  code().relu_backward(*args.grad_output, *args.grad_inputs.at(0));
}

// ---- Conv2d / Linear -------------------------------------------------------------------------------

bool QuantizedWeightMode::supports(const Layer& layer) const {
  return dynamic_cast<const WeightedLayer*>(&layer) != nullptr && layer.arity() == 1;
}

std::string QuantizedWeightMode::describe() const {
  if (falls_back()) return "exact (fallback)";
  return "quantized(bits=" + std::to_string(relu_->code().bits()) + ")";
}

void QuantizedWeightMode::link(const Graph& graph, int node, const std::vector<BackwardMode*>& modes) {
  const int producer = graph.node(node).inputs.at(0);
  relu_ = producer == Graph::kInput ? nullptr : dynamic_cast<const QuantizedReluMode*>(modes.at(producer));
  if (relu_) return;
  const Layer& layer = *graph.node(node).layer;
  fallback_reason_ = "its input comes from " + producer_name(graph, producer) +
                     ", not from a ReLU in quantized mode, so there is no code to rebuild it from";
  if (explicit_)
    throw ConfigError("backward.layers: mode 'quantized' cannot serve layer '" + layer.name() + "' (" +
                      layer.kind() + "): " + fallback_reason_);
}

SavedNeeds QuantizedWeightMode::keeps(const Layer& layer) const {
  if (falls_back()) return layer.saved_needs();
  return {{false}, false, {}};
}

size_t QuantizedWeightMode::layer_workspace_bytes(const Layer& layer) const {
  return align_up(layer.backward_workspace_bytes());
}

size_t QuantizedWeightMode::backward_workspace_bytes(const Layer& layer) const {
  if (falls_back()) return layer.backward_workspace_bytes();
  return layer_workspace_bytes(layer) + float_bytes(layer.input_shapes().at(0));  // + h̃
}

void QuantizedWeightMode::backward(Layer& layer, const BackwardArgs& args, const std::vector<const Tensor*>&) {
  if (falls_back()) return layer.backward(args);
  auto& w = static_cast<WeightedLayer&>(layer);
  float* ws = args.workspace;
  if (Tensor* dx = args.grad_inputs.at(0)) w.backward_data(*args.grad_output, w.weight().value, *dx, ws);
  const QuantizedCode& code = relu_->code();
  FRUGAL_CHECK(code.shape() == layer.input_shapes().at(0), InternalError,
               "quantized: " + std::string(layer.kind()) + " '" + layer.name() + "' reads a code of " +
                   code.shape().str() + " for its input " + layer.input_shapes().at(0).str());
  float* h = ws + layer_workspace_bytes(layer) / sizeof(float);
  code.relu_values(h);
  w.backward_weight(view_of(input_, h, layer.input_shapes().at(0), layer.device()), *args.grad_output, ws);
}

// ---- Factory helper --------------------------------------------------------------------------------

std::unique_ptr<QuantizedMode> make_quantized_mode_for(const Layer& layer, int bits, bool explicit_entry) {
  if (dynamic_cast<const BatchNorm*>(&layer)) return std::make_unique<QuantizedBatchNormMode>(bits, explicit_entry);
  if (is_relu(layer)) return std::make_unique<QuantizedReluMode>(bits, explicit_entry);
  if (dynamic_cast<const WeightedLayer*>(&layer)) return std::make_unique<QuantizedWeightMode>(bits, explicit_entry);
  return std::make_unique<QuantizedMode>(bits, explicit_entry);
}

}  // namespace frugal
