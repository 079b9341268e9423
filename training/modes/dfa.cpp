#include "training/modes/dfa.h"

#include "core/error.h"

namespace frugal {

DfaMode::DfaMode(std::string name, const FeedbackOptions& options, int node, uint64_t seed)
    : name_(std::move(name)), options_(options), key_(feedback_key(seed, node)) {}

std::string DfaMode::describe() const {
  std::string s = name_ + "(" + dfa_role_name(plan_.role);
  if (plan_.role == DfaRole::Injection) s += ", " + options_.describe();
  return s + ")";
}

SavedNeeds DfaMode::keeps(const Layer& layer) const {
  if (plan_.role == DfaRole::Idle) return SavedNeeds{std::vector<bool>(layer.input_shapes().size(), false), false, {}};
  return layer.saved_needs();
}

size_t DfaMode::backward_workspace_bytes(const Layer& layer) const {
  const size_t own = layer.backward_workspace_bytes();
  if (plan_.role != DfaRole::Injection) return own;
  // [P: B x n][D: C x n, then reused as the layer's own workspace]
  const Shape& y = layer.output_shape();
  const size_t n = static_cast<size_t>(y.numel() / y[0]);
  const size_t p = align_floats(static_cast<size_t>(y.numel())) * sizeof(float);
  return p + std::max(align_floats(static_cast<size_t>(classes_) * n) * sizeof(float), own);
}

void DfaMode::link(const Graph& graph, int node, const std::vector<BackwardMode*>& modes) {
  for (int i = 0; i < graph.size(); ++i) {
    auto* other = dynamic_cast<DfaMode*>(modes.at(i));
    if (!other || other->name() != name_)
      throw ConfigError("backward mode '" + name_ + "' is a network-level schedule: every layer must run it (set " +
                        "backward.default.mode to \"" + name_ + "\" and override no layer with another mode), but layer '" +
                        graph.node(i).layer->name() + "' runs '" + modes.at(i)->name() + "'");
  }
  const int broken = name_ == "mem_dfa" ? first_break_in_chain(graph) : -1;
  if (broken >= 0)
    throw ConfigError("backward mode 'mem_dfa' needs a sequential network (each layer reading only the one before "
                      "it), but layer '" + graph.node(broken).layer->name() + "' breaks the chain");
  plan_ = plan_dfa(graph).at(node);
  const Shape& logits = graph.node(graph.output()).layer->output_shape();
  classes_ = logits.numel() / logits[0];
  linked_ = true;
}

void DfaMode::fill_feedback_matrix(const Kernels& kernels, int64_t classes, int64_t features, float* out) const {
  fill_feedback(kernels, options_, key_, features, out, classes * features);
}

void DfaMode::local_backward(Layer& layer, const BackwardArgs& args) const {
  auto* weighted = dynamic_cast<WeightedLayer*>(&layer);
  if (!weighted) {
    layer.backward(args);  // writes every input gradient; unneeded ones land in buffers nobody reads
    return;
  }
  if (plan_.input_grad_needed.at(0) && args.grad_inputs[0])
    weighted->backward_data(*args.grad_output, weighted->weight().value, *args.grad_inputs[0], args.workspace);
  weighted->backward_weight(*args.inputs[0], *args.grad_output, args.workspace);
}

void DfaMode::backward(Layer& layer, const BackwardArgs& args, const std::vector<const Tensor*>&) {
  if (!linked_) throw InternalError("dfa mode of layer '" + layer.name() + "' was not linked to its graph");
  if (plan_.role == DfaRole::Idle) return;
  if (plan_.role != DfaRole::Injection) {
    local_backward(layer, args);
    return;
  }
  const Tensor* e = args.network_output_grad;
  if (!e || e->dim(1) != classes_)
    throw InternalError("dfa injection at layer '" + layer.name() + "' got no output error [B, " +
                        std::to_string(classes_) + "]");
  const Shape& y = layer.output_shape();
  const int64_t batch = y[0], n = y.numel() / batch;
  float* p = args.workspace;
  float* d = args.workspace + align_floats(static_cast<size_t>(y.numel()));
  const Kernels& k = layer.kernels();
  fill_feedback_matrix(k, classes_, n, d);
  // P [B, n] = e [B, C] · D [C, n]
  k.gemm(false, false, batch, n, classes_, 1.0f, e->device_f32(), classes_, d, n, 0.0f, p, n);
  Tensor injected = Tensor::wrap(p, y, DType::F32, layer.device());
  BackwardArgs local = args;
  local.grad_output = &injected;
  local.workspace = d;  // D is no longer needed
  local_backward(layer, local);
}

}  // namespace frugal
