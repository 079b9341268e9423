// Few-bit backward (Novikov et al.) for pointwise activations: the forward stays exact; the mode keeps
// nothing of the layer and stashes, per element, a `bits`-wide code of the input's interval in an
// optimal piecewise-constant approximation of f' (training/modes/fewbit_table.h). The backward is
// dx = dy * level[code]. ReLU and LeakyReLU use 1 bit whatever `bits` says: their table is exact, so
// there fewbit reproduces exact backprop bit for bit at 1/32 of a float stash.
#pragma once
#include "training/modes/backward_mode.h"
#include "training/modes/fewbit_table.h"

namespace frugal {

class FewbitMode : public BackwardMode {
 public:
  // `layer` is the layer this mode serves; when it is an Activation the table is built (or taken from
  // the cache) here, at start-up. bits in 1..4.
  FewbitMode(const Layer& layer, int bits, FewbitWeighting weighting);

  std::string name() const override { return "fewbit"; }
  std::string describe() const override;  // "fewbit(bits=3)", "fewbit(bits=2, weighting=uniform)"
  bool supports(const Layer& layer) const override;  // every Activation kind
  // ReLU and LeakyReLU: their 1-bit table is exact.
  bool reproduces_exact_backward(const Layer& layer) const override;
  bool backward_in_place(const Layer&) const override { return true; }  // dx = dy * level[code]

  SavedNeeds keeps(const Layer& layer) const override;  // nothing: no input, no output
  std::vector<StashSpec> stash_specs(const Layer& layer) const override;  // "codes": U8[packed bytes]
  size_t backward_workspace_bytes(const Layer&) const override { return 0; }

  void after_forward(Layer& layer, const ForwardArgs& args, const std::vector<Tensor*>& stash) override;
  void backward(Layer& layer, const BackwardArgs& args, const std::vector<const Tensor*>& stash) override;

  // The table in use (null when the layer is not an activation); bits() is the table's, 1 for ReLU.
  const FewbitTable* table() const { return table_; }
  int bits() const { return table_ ? table_->bits : requested_bits_; }

 private:
  const FewbitTable& table_for(const Layer& layer) const;

  int requested_bits_;
  FewbitWeighting weighting_;
  const FewbitTable* table_ = nullptr;
};

}  // namespace frugal
