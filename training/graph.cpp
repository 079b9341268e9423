#include "training/graph.h"

#include <algorithm>

#include "core/error.h"

namespace frugal {

int Graph::add(std::unique_ptr<Layer> layer, std::vector<int> inputs) {
  const int id = size();
  if (static_cast<int>(inputs.size()) != layer->arity())
    throw InternalError("layer '" + layer->name() + "' takes " + std::to_string(layer->arity()) +
                        " inputs, given " + std::to_string(inputs.size()));
  for (int in : inputs)
    if (in != kInput && (in < 0 || in >= id))
      throw InternalError("layer '" + layer->name() + "' reads node " + std::to_string(in) +
                          ", which does not come before it");
  if (find(layer->name()) >= 0)
    throw InternalError("two layers are named '" + layer->name() + "'");
  layer->to_device(device_);
  if (consumers_.empty()) consumers_.emplace_back();  // the network input's
  consumers_.emplace_back();
  for (size_t k = 0; k < inputs.size(); ++k)
    if (std::find(inputs.begin(), inputs.begin() + k, inputs[k]) == inputs.begin() + k)
      consumers_[inputs[k] + 1].push_back(id);
  nodes_.push_back({std::move(layer), std::move(inputs)});
  return id;
}

int Graph::add(std::unique_ptr<Layer> layer) {
  int prev = nodes_.empty() ? kInput : last();
  return add(std::move(layer), {prev});
}

int Graph::find(const std::string& name) const {
  for (int i = 0; i < size(); ++i)
    if (nodes_[i].layer->name() == name) return i;
  return -1;
}

Shape Graph::setup(const Shape& input_shape) {
  if (nodes_.empty()) throw ConfigError("the model has no layers");
  input_shape_ = input_shape;
  std::vector<Shape> shapes(nodes_.size());
  for (int i = 0; i < size(); ++i) {
    std::vector<Shape> in;
    for (int j : nodes_[i].inputs) in.push_back(j == kInput ? input_shape : shapes[j]);
    shapes[i] = nodes_[i].layer->setup(in);
  }
  return shapes.back();
}

const std::vector<int>& Graph::consumers(int id) const {
  static const std::vector<int> none;
  return id + 1 < static_cast<int>(consumers_.size()) ? consumers_[id + 1] : none;
}

std::vector<Parameter*> Graph::parameters() {
  std::vector<Parameter*> out;
  for (auto& n : nodes_)
    for (Parameter* p : n.layer->parameters()) out.push_back(p);
  return out;
}

std::vector<Parameter*> Graph::trainable_parameters() {
  std::vector<Parameter*> out;
  for (Parameter* p : parameters())
    if (p->trainable) out.push_back(p);
  return out;
}

int64_t Graph::forward_flops() const {
  int64_t f = 0;
  for (auto& n : nodes_) f += n.layer->forward_flops();
  return f;
}

void Graph::to_device(Device device) {
  for (GraphNode& n : nodes_) n.layer->to_device(device);
  device_ = device;
}

}  // namespace frugal
