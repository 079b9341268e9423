// `quantized`: BLPA's approximate activations (Chakrabarti & Moseley 2019; docs/algorithms.md §2). The
// forward is exact; what the backward reads is a K-bit code of each ReLU pre-activation y (normalised
// by its channel's spread, grid aligned with the ReLU threshold so the mask is exact) instead of fp32.
//
// Roles, by layer kind (each node gets its own instance):
// - BatchNorm: keeps only its statistics (aux) and stashes the code of its OUTPUT y = γx̂ + β (mean β,
//   std |γ|·sqrt(var/(var+eps))); its backward runs from x̃ = (ỹ - β)/γ. Only x̃ is approximate.
// - ReLU: keeps nothing. When its producer is a BatchNorm in this mode it reads that code (the BN's
//   backward runs after every reader, so its stash outlives them); otherwise (after an Add, a Linear,
//   ...) it stashes the code of its own input. Backward: dx = dy·[q >= shift], exact.
// - Conv2d / Linear whose input is a ReLU in this mode: keeps nothing; dX is exact (backward_data),
//   dW uses h̃ = ReLU(ỹ) from the ReLU's code. Any other input (the network input, a pool, a flatten,
//   a dropout) has no code: with `backward.default` the layer falls back to exact (describe() says so);
//   with an explicit `backward.layers` entry that is a ConfigError, raised when the executor links the
//   modes (supports() only sees the layer, not its producer).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "training/modes/backward_mode.h"
#include "training/modes/quantized_code.h"

namespace frugal {

// Bits per stashed value when the entry names none (the one place this default is stated).
constexpr int kQuantizedDefaultBits = 4;

// Serves nothing: the mode of a layer kind BLPA does not cover (the registry then falls back or refuses).
class QuantizedMode : public BackwardMode {
 public:
  // `explicit_entry`: the mode came from a `backward.layers` entry rather than `backward.default`.
  QuantizedMode(int bits, bool explicit_entry) : bits_(bits), explicit_(explicit_entry) {}
  std::string name() const override { return "quantized"; }
  std::string describe() const override { return "quantized(bits=" + std::to_string(bits_) + ")"; }
  bool supports(const Layer&) const override { return false; }
  int bits() const { return bits_; }

 protected:
  int bits_;
  bool explicit_;
};

class QuantizedBatchNormMode : public QuantizedMode {
 public:
  using QuantizedMode::QuantizedMode;
  bool supports(const Layer& layer) const override;
  SavedNeeds keeps(const Layer& layer) const override;
  std::vector<StashSpec> stash_specs(const Layer& layer) const override;
  size_t backward_workspace_bytes(const Layer& layer) const override;
  void after_forward(Layer& layer, const ForwardArgs& args, const std::vector<Tensor*>& stash) override;
  void backward(Layer& layer, const BackwardArgs& args, const std::vector<const Tensor*>& stash) override;
  const QuantizedCode& code() const { return code_; }

 private:
  QuantizedCode code_{bits_};
  Tensor mean_std_;  // [2, C] on the layer's device, made on first use
  Tensor xhat_;                  // view of the backward workspace
};

class QuantizedReluMode : public QuantizedMode {
 public:
  using QuantizedMode::QuantizedMode;
  std::string describe() const override;
  bool supports(const Layer& layer) const override;
  void link(const Graph& graph, int node, const std::vector<BackwardMode*>& modes) override;
  SavedNeeds keeps(const Layer& layer) const override { return {{false}, false, {}}; }
  std::vector<StashSpec> stash_specs(const Layer& layer) const override;
  size_t backward_workspace_bytes(const Layer&) const override { return 0; }
  bool backward_in_place(const Layer&) const override { return true; }  // dx = dy * [q >= shift]
  void after_forward(Layer& layer, const ForwardArgs& args, const std::vector<Tensor*>& stash) override;
  void backward(Layer& layer, const BackwardArgs& args, const std::vector<const Tensor*>& stash) override;
  // The code of this ReLU's input: its producer BatchNorm's or its own.
  const QuantizedCode& code() const { return shared_ ? *shared_ : own_; }

 private:
  QuantizedCode own_{bits_};
  const QuantizedCode* shared_ = nullptr;
  Tensor mean_std_;  // [2, C] on the layer's device, made on first use
};

class QuantizedWeightMode : public QuantizedMode {
 public:
  using QuantizedMode::QuantizedMode;
  std::string describe() const override;
  bool supports(const Layer& layer) const override;
  void link(const Graph& graph, int node, const std::vector<BackwardMode*>& modes) override;
  SavedNeeds keeps(const Layer& layer) const override;
  size_t backward_workspace_bytes(const Layer& layer) const override;
  void backward(Layer& layer, const BackwardArgs& args, const std::vector<const Tensor*>& stash) override;
  bool falls_back() const { return relu_ == nullptr; }
  // dW from the layer's own backward_weight, on the dequantized input (or the layer's own backward).
  bool weight_gradient_by_layer(const Layer&) const override { return true; }

 private:
  size_t layer_workspace_bytes(const Layer& layer) const;  // the layer's own, rounded up to 64 bytes

  const QuantizedReluMode* relu_ = nullptr;  // the producer; null: exact fallback
  std::string fallback_reason_ = "not linked";
  Tensor input_;                             // h̃, a view of the backward workspace
};

// The mode instance for `layer`'s kind (a QuantizedMode that serves nothing for other kinds).
std::unique_ptr<QuantizedMode> make_quantized_mode_for(const Layer& layer, int bits, bool explicit_entry);

}  // namespace frugal
