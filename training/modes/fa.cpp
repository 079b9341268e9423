#include "training/modes/fa.h"

#include "core/error.h"

namespace frugal {

FaMode::FaMode(const FeedbackOptions& options, bool keep_in_memory, Layer& layer, int layer_index, uint64_t seed)
    : options_(options), keep_in_memory_(keep_in_memory), key_(feedback_key(seed, layer_index)) {
  auto* weighted = dynamic_cast<WeightedLayer*>(&layer);
  if (!weighted) return;  // supports() refuses it
  shape_ = weighted->weight().value.shape();
  fan_in_ = shape_.numel() / shape_[0];
  if (!keep_in_memory_) return;
  stored_.name = layer.name() + ".fa_feedback";
  stored_.value = Tensor::empty(shape_, DType::F32, &device_runtime(layer.device()).allocator(),
                                {MemoryCategory::OptimizerState, ""});
  stored_.trainable = false;
  stored_.weight_decay = false;
  fill_feedback_matrix(layer.kernels(), stored_.value.device_f32());
}

std::string FaMode::describe() const {
  return "fa(" + options_.describe() + (keep_in_memory_ ? ", stored)" : ", regenerated)");
}

bool FaMode::supports(const Layer& layer) const { return dynamic_cast<const WeightedLayer*>(&layer) != nullptr; }

void FaMode::fill_feedback_matrix(const Kernels& kernels, float* out) const {
  fill_feedback(kernels, options_, key_, fan_in_, out, shape_.numel());
}

size_t FaMode::backward_workspace_bytes(const Layer& layer) const {
  const size_t feedback = keep_in_memory_ ? 0 : align_floats(shape_.numel()) * sizeof(float);
  return feedback + layer.backward_workspace_bytes();
}

void FaMode::backward(Layer& layer, const BackwardArgs& args, const std::vector<const Tensor*>&) {
  auto& wl = dynamic_cast<WeightedLayer&>(layer);
  // Workspace: [B, regenerated (absent when stored)][the layer's own backward workspace]
  float* layer_workspace = keep_in_memory_ ? args.workspace : args.workspace + align_floats(shape_.numel());
  if (args.grad_inputs[0]) {
    Tensor feedback = override_.defined() ? override_ : stored_.value;
    if (!override_.defined() && !keep_in_memory_) {
      fill_feedback_matrix(layer.kernels(), args.workspace);
      feedback = Tensor::wrap(args.workspace, shape_, DType::F32, layer.device());
    }
    wl.backward_data(*args.grad_output, feedback, *args.grad_inputs[0], layer_workspace);
  }
  wl.backward_weight(*args.inputs[0], *args.grad_output, layer_workspace);
}

std::vector<Parameter*> FaMode::state() {
  if (keep_in_memory_ && stored_.value.defined()) return {&stored_};
  return {};
}

}  // namespace frugal
