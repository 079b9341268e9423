#include "training/schedules/per_layer_optimizer.h"

#include "core/error.h"

namespace frugal {
namespace {

constexpr const char* kStepEntry = "step";  // what every PerParameterStateOptimizer writes

}  // namespace

PerLayerOptimizer::PerLayerOptimizer(std::vector<std::unique_ptr<Optimizer>> layers) : layers_(std::move(layers)) {
  for (int node = 0; node < static_cast<int>(layers_.size()); ++node)
    if (layers_[node])
      for (const auto& [name, t] : layers_[node]->state())
        if (name != kStepEntry) owner_[name] = node;
}

void PerLayerOptimizer::step_layer(int node, float lr) {
  if (layers_.at(node)) layers_[node]->step(lr);
}

void PerLayerOptimizer::step(float lr) {
  for (int node = 0; node < static_cast<int>(layers_.size()); ++node) step_layer(node, lr);
}

NamedTensors PerLayerOptimizer::state() const {
  NamedTensors out;
  Tensor step;
  for (const auto& layer : layers_)
    if (layer)
      for (auto& [name, t] : layer->state()) {
        if (name != kStepEntry) out.emplace_back(name, t);
        else if (!step.defined()) step = t;
      }
  if (!step.defined()) {
    step = Tensor::empty(Shape{}, DType::I64);
    *step.data<int64_t>() = 0;
  }
  out.emplace_back(kStepEntry, step);
  return out;
}

void PerLayerOptimizer::load_state(const NamedTensors& state) {
  std::vector<NamedTensors> per_layer(layers_.size());
  const Tensor* step = nullptr;
  std::string unexpected;
  for (const auto& [name, t] : state) {
    auto it = owner_.find(name);
    if (name == kStepEntry) step = &t;
    else if (it != owner_.end()) per_layer[it->second].emplace_back(name, t);
    else unexpected += (unexpected.empty() ? "'" : ", '") + name + "'";
  }
  if (!unexpected.empty()) throw DataError("optimizer state: unexpected " + unexpected);
  for (size_t node = 0; node < layers_.size(); ++node)
    if (layers_[node]) {
      if (step) per_layer[node].emplace_back(kStepEntry, *step);
      layers_[node]->load_state(per_layer[node]);  // names what it misses, "step" included
    }
}

int64_t PerLayerOptimizer::steps_taken() const {
  for (const auto& layer : layers_)
    if (layer) return layer->steps_taken();
  return 0;
}

size_t PerLayerOptimizer::state_bytes() const {
  size_t bytes = 0;
  for (const auto& layer : layers_)
    if (layer) bytes += layer->state_bytes();
  return bytes;
}

}  // namespace frugal
