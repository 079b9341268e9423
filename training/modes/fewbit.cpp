#include "training/modes/fewbit.h"

#include "core/error.h"
#include "ops/activation.h"

namespace frugal {
namespace {

const Activation* as_activation(const Layer& layer) { return dynamic_cast<const Activation*>(&layer); }

}  // namespace

FewbitMode::FewbitMode(const Layer& layer, int bits, FewbitWeighting weighting)
    : requested_bits_(bits), weighting_(weighting) {
  if (const Activation* a = as_activation(layer)) table_ = &fewbit_table(a->spec(), bits, weighting);
}

std::string FewbitMode::describe() const {
  std::string d = "fewbit(bits=" + std::to_string(bits());
  if (weighting_ != FewbitWeighting::Normal) d += std::string(", weighting=") + fewbit_weighting_name(weighting_);
  return d + ")";
}

bool FewbitMode::supports(const Layer& layer) const { return as_activation(layer) != nullptr; }

bool FewbitMode::reproduces_exact_backward(const Layer& layer) const {
  const Activation* a = as_activation(layer);
  return a && fewbit_is_stepwise(a->spec().kind);
}

const FewbitTable& FewbitMode::table_for(const Layer& layer) const {
  const Activation* a = as_activation(layer);
  FRUGAL_CHECK(a != nullptr, InternalError,
               "fewbit mode used on " + std::string(layer.kind()) + " '" + layer.name() + "', which is not an activation");
  // The table was bound to the layer given at construction; a mode serves one layer.
  return table_ ? *table_ : fewbit_table(a->spec(), requested_bits_, weighting_);
}

SavedNeeds FewbitMode::keeps(const Layer& layer) const {
  return SavedNeeds{std::vector<bool>(static_cast<size_t>(layer.arity()), false), false, {}};
}

std::vector<StashSpec> FewbitMode::stash_specs(const Layer& layer) const {
  const int64_t bytes = static_cast<int64_t>(packed_bytes(layer.output_shape().numel(), table_for(layer).bits));
  return {StashSpec{"codes", Shape{bytes}, DType::U8}};
}

void FewbitMode::after_forward(Layer& layer, const ForwardArgs& args, const std::vector<Tensor*>& stash) {
  const Tensor& x = *args.inputs.at(0);
  layer.kernels().fewbit_encode(x.numel(), x.device_f32(), fewbit_levels(table_for(layer)),
                                stash.at(0)->device_data<uint8_t>());
}

void FewbitMode::backward(Layer& layer, const BackwardArgs& args, const std::vector<const Tensor*>& stash) {
  Tensor* dx = args.grad_inputs.at(0);
  if (dx == nullptr) return;  // the activation reads the network input: no gradient wanted
  const Tensor& dy = *args.grad_output;
  layer.kernels().fewbit_backward(dy.numel(), stash.at(0)->device_data<uint8_t>(), fewbit_levels(table_for(layer)),
                                  dy.device_f32(), dx->device_f32());
}

}  // namespace frugal
