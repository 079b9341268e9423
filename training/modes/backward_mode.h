// How one layer's backward pass is computed. A mode decides what the layer keeps from its forward
// (forward values kept alive, and/or extra "stash" buffers it fills itself) and how the backward uses
// it. The executor only calls this interface: it never branches on mode names.
//
// One instance serves one layer, so a mode may hold per-layer state across steps (error-feedback
// memory, feedback matrices); that state is exposed through state() for checkpoints and accounting.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ops/layer.h"

namespace frugal {

class Graph;

struct StashSpec {
  std::string name;  // e.g. "codes", "sketch"
  Shape shape;
  DType dtype = DType::U8;
  size_t bytes() const { return static_cast<size_t>(shape.numel()) * dtype_size(dtype); }
};

class BackwardMode {
 public:
  virtual ~BackwardMode() = default;
  virtual std::string name() const = 0;       // the config name, e.g. "quantized"
  virtual std::string describe() const { return name(); }  // with knobs, e.g. "quantized(bits=4)"
  virtual bool supports(const Layer& layer) const = 0;
  // As `backward.default`, on a layer this mode does not support: the config entry of the mode to use
  // there instead (null: exact). Lets a mode keep its neighbours from holding what it saves.
  virtual nlohmann::json default_fallback(const Layer& layer) const { return nullptr; }

  // True when backward() on `layer` gives what the layer's own exact backward gives, bit for bit (the
  // executor may then fold a ReLU into its producer: training/relu_folding.h).
  virtual bool reproduces_exact_backward(const Layer& layer) const { return false; }

  // True when backward() on `layer` may write grad_inputs[0] over grad_output, element by element (the
  // step plan then gives an input that only this layer reads one gradient buffer with its output).
  virtual bool backward_in_place(const Layer& layer) const { return false; }

  // After the layer's setup(): which forward inputs/output/aux the backward reads. The executor
  // keeps exactly these alive until this layer's backward.
  virtual SavedNeeds keeps(const Layer& layer) const { return layer.saved_needs(); }
  // True when the mode keeps nothing of the forward and its backward reads layer.saved_needs()
  // recomputed by the step (training/step_plan.h, "Recomputation") right before it.
  virtual bool recomputes() const { return false; }
  // Extra buffers the mode fills after the forward and reads in the backward.
  virtual std::vector<StashSpec> stash_specs(const Layer& layer) const { return {}; }
  virtual size_t backward_workspace_bytes(const Layer& layer) const {
    return layer.backward_workspace_bytes();
  }

  // Once, after every layer got its mode: a mode that shares a stash with its neighbours (e.g. a ReLU's
  // K-bit code serving the BN before it and the conv after it) finds them here. `modes[i]` is node i's.
  virtual void link(const Graph& graph, int node, const std::vector<BackwardMode*>& modes) {}
  // True when backward() reads BackwardArgs::network_output_grad (the plan then keeps it alive).
  virtual bool reads_network_output_grad() const { return false; }
  // Once per training step before the forward pass (e.g. to choose new random probes).
  virtual void begin_step(int64_t step) {}
  // Right after the layer's forward: fill the stash. `stash` follows stash_specs().
  virtual void after_forward(Layer& layer, const ForwardArgs& args, const std::vector<Tensor*>& stash) {}
  // True when backward() adds to the layer's parameter gradients while the layer's
  // accumulate_param_grads() is set (micro-batches, docs/memory_budget.md); otherwise the step saves the
  // gradients in a planned buffer around the backward and adds them back.
  virtual bool accumulates_param_grads(const Layer& layer) const { return layer.can_accumulate_param_grads(); }
  // The backward: grad_inputs and the layer's parameter gradients, overwriting (or adding, above).
  virtual void backward(Layer& layer, const BackwardArgs& args, const std::vector<const Tensor*>& stash) {
    layer.backward(args);
  }
  // True when backward() on `layer` (a WeightedLayer) computes the weight gradient through the layer's
  // own backward_weight() (or backward()), once, as the exact gradient of what it reads: data parallelism
  // may then take that gradient in pieces of rows (WeightedLayer::set_weight_gradient_pieces).
  virtual bool weight_gradient_by_layer(const Layer& layer) const { return false; }
  // State kept across steps (saved in checkpoints, counted as optimizer_state in reports).
  virtual std::vector<Parameter*> state() { return {}; }

  // Profiling (`profile --time`): while set, a mode that computes weight gradients as a separate piece
  // adds the seconds it spends on them here, so the backward splits into data and weight parts.
  void set_weight_gradient_timer(double* seconds) { weight_gradient_seconds_ = seconds; }

 protected:
  double* weight_gradient_seconds_ = nullptr;
};

}  // namespace frugal
