#include "training/modes/randomized_trace.h"

#include <algorithm>

#include "core/error.h"
#include "core/log.h"
#include "ops/activation.h"
#include "ops/conv.h"
#include "ops/linear.h"
#include "training/graph.h"

namespace frugal {
namespace {

const Conv2d* as_conv(const Layer& layer) { return dynamic_cast<const Conv2d*>(&layer); }
const Linear* as_linear(const Layer& layer) { return dynamic_cast<const Linear*>(&layer); }

int64_t batch_of(const Layer& layer) { return layer.input_shapes().at(0)[0]; }

}  // namespace

const char* probe_mode_name(ProbeMode mode) {
  switch (mode) {
    case ProbeMode::Independent: return "independent";
    case ProbeMode::Gaussian: return "gaussian";
    case ProbeMode::Orthogonal: return "orthogonal";
  }
  return "?";
}

const char* probe_distribution_name(ProbeDistribution distribution) {
  return distribution == ProbeDistribution::Rademacher ? "rademacher" : "gaussian";
}

RandomizedTraceMode::RandomizedTraceMode(const TraceProbes& options, int layer_index, uint64_t seed)
    : options_(options), layer_index_(layer_index), seed_(seed) {}

std::string RandomizedTraceMode::describe() const {
  return "randomized_trace(probes=" + std::to_string(options_.count) + ", " + probe_mode_name(options_.mode) + ", " +
         probe_distribution_name(options_.distribution) + ")";
}

bool RandomizedTraceMode::supports(const Layer& layer) const {
  if (const Conv2d* conv = as_conv(layer)) return conv->options().groups == 1;
  return as_linear(layer) != nullptr;
}

nlohmann::json RandomizedTraceMode::default_fallback(const Layer& layer) const {
  // A ReLU's exact backward keeps its output, which is the next conv's input: the 1-bit mask frees it.
  const auto* activation = dynamic_cast<const Activation*>(&layer);
  if (!activation) return nullptr;
  const ActivationKind kind = activation->spec().kind;
  if (kind != ActivationKind::ReLU && kind != ActivationKind::LeakyReLU) return nullptr;
  return {{"mode", "fewbit"}, {"bits", 1}};
}

SavedNeeds RandomizedTraceMode::keeps(const Layer& layer) const { return {{false}, false, {}}; }

std::vector<StashSpec> RandomizedTraceMode::stash_specs(const Layer& layer) const {
  Shape shape;
  if (const Conv2d* conv = as_conv(layer))
    shape = conv_trace_sketch_shape(conv->geometry(), options_);
  else
    shape = linear_trace_sketch_shape(batch_of(layer), as_linear(layer)->in_features(), options_);
  const int64_t input_floats = layer.input_shapes().at(0).numel();
  if (shape.numel() >= input_floats && !warned_no_saving_) {
    warned_no_saving_ = true;
    log().warn("randomized_trace on {} '{}': the sketch {} holds {} floats, no fewer than the input {} it replaces; "
               "use fewer probes or another probe_mode",
               layer.kind(), layer.name(), shape.str(), shape.numel(), layer.input_shapes().at(0).str());
  }
  return {{"sketch", shape, DType::F32}};
}

size_t RandomizedTraceMode::backward_workspace_bytes(const Layer& layer) const {
  size_t estimator_bytes = 0;
  if (const Conv2d* conv = as_conv(layer)) {
    estimator_bytes = layer.kernels().conv_trace_workspace_bytes(conv->geometry(), options_);
  } else {
    const Linear* linear = as_linear(layer);
    estimator_bytes = layer.kernels().linear_trace_workspace_bytes(batch_of(layer), linear->in_features(),
                                                                   linear->out_features(), options_);
  }
  // dX (the layer's own backward-data scratch) runs before dW, so they share one buffer.
  return std::max(layer.backward_workspace_bytes(), estimator_bytes);
}

void RandomizedTraceMode::link(const Graph& graph, int node, const std::vector<BackwardMode*>& modes) {
  const int input = graph.node(node).inputs.at(0);
  if (input == Graph::kInput) return;  // the batch itself: nobody keeps it
  const Layer& self = *graph.node(node).layer;
  std::vector<int> keepers;
  if (modes[input]->keeps(*graph.node(input).layer).output) keepers.push_back(input);
  for (int c : graph.consumers(input)) {
    if (c == node) continue;
    const auto& ins = graph.node(c).inputs;
    const SavedNeeds needs = modes[c]->keeps(*graph.node(c).layer);
    for (size_t k = 0; k < ins.size(); ++k)
      if (ins[k] == input && k < needs.inputs.size() && needs.inputs[k]) keepers.push_back(c);
  }
  for (int k : keepers) {
    const Layer& keeper = *graph.node(k).layer;
    log().warn("randomized_trace on {} '{}': its input (the output of '{}') is still kept by {} '{}' (mode {}), so "
               "the sketch saves no memory there; give '{}' a mode that does not keep it, e.g. "
               "{{\"match\": \"{}\", \"mode\": \"fewbit\", \"bits\": 1}} on a ReLU",
               self.kind(), self.name(), graph.node(input).layer->name(), keeper.kind(), keeper.name(),
               modes[k]->describe(), keeper.name(), keeper.name());
  }
}

TraceProbes RandomizedTraceMode::probes() const {
  TraceProbes p = options_;
  p.key = {seed_, (static_cast<uint64_t>(RngStream::Probes) << 32) | static_cast<uint64_t>(layer_index_),
           static_cast<uint64_t>(step_)};
  return p;
}

void RandomizedTraceMode::after_forward(Layer& layer, const ForwardArgs& args, const std::vector<Tensor*>& stash) {
  const Kernels& k = layer.kernels();
  if (!scratch_.defined())
    scratch_ = Tensor::empty({static_cast<int64_t>(k.trace_sketch_scratch_bytes(options_) / sizeof(float))},
                             DType::F32, &device_runtime(layer.device()).allocator(), {MemoryCategory::Workspace, ""});
  const float* x = args.inputs.at(0)->device_f32();
  float* sketch = stash.at(0)->device_f32();
  float* scratch = scratch_.device_f32();
  if (const Conv2d* conv = as_conv(layer)) {
    k.conv_trace_sketch(conv->geometry(), probes(), x, sketch, scratch);
  } else {
    k.linear_trace_sketch(batch_of(layer), as_linear(layer)->in_features(), probes(), x, sketch, scratch);
  }
}

void RandomizedTraceMode::backward(Layer& layer, const BackwardArgs& args, const std::vector<const Tensor*>& stash) {
  auto& weighted = dynamic_cast<WeightedLayer&>(layer);
  const Tensor& dy = *args.grad_output;
  if (args.grad_inputs.at(0)) weighted.backward_data(dy, weighted.weight().value, *args.grad_inputs[0], args.workspace);
  const float* sketch = stash.at(0)->device_f32();
  float* dw = weighted.weight().grad.device_f32();
  const Kernels& k = layer.kernels();
  if (const Conv2d* conv = as_conv(layer)) {
    k.conv_trace_weight_grad(conv->geometry(), probes(), sketch, dy.device_f32(), dw, args.workspace);
  } else {
    const Linear* linear = as_linear(layer);
    k.linear_trace_weight_grad(batch_of(layer), linear->in_features(), linear->out_features(), probes(), sketch,
                               dy.device_f32(), dw, args.workspace);
  }
  weighted.backward_bias(dy);
}

}  // namespace frugal
