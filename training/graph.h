// A network: layers in topological order, each reading the outputs of earlier layers (or the network
// input). Residual connections are nodes with two inputs (Add).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "ops/layer.h"

namespace frugal {

struct GraphNode {
  std::unique_ptr<Layer> layer;
  std::vector<int> inputs;  // node ids, or Graph::kInput
};

class Graph {
 public:
  static constexpr int kInput = -1;

  // Appends a layer reading `inputs` (earlier node ids or kInput); returns its node id.
  int add(std::unique_ptr<Layer> layer, std::vector<int> inputs);
  // Appends a layer reading the previous node (the network input for the first one).
  int add(std::unique_ptr<Layer> layer);
  template <class L, class... Args> int emplace(std::vector<int> inputs, Args&&... args) {
    return add(std::make_unique<L>(std::forward<Args>(args)...), std::move(inputs));
  }

  int size() const { return static_cast<int>(nodes_.size()); }
  GraphNode& node(int id) { return nodes_.at(id); }
  const GraphNode& node(int id) const { return nodes_.at(id); }
  Layer& layer(int id) { return *nodes_.at(id).layer; }
  int output() const { return size() - 1; }  // the last node gives the logits
  int last() const { return size() - 1; }
  int find(const std::string& name) const;   // -1 when absent

  // Shape inference for an input of `input_shape` (batch included); returns the output shape.
  Shape setup(const Shape& input_shape);
  const Shape& input_shape() const { return input_shape_; }
  // Nodes reading node `id` (kInput for the network input), in increasing order; kept as nodes are added.
  const std::vector<int>& consumers(int id) const;

  // Moves every layer's parameters to `device`, where its steps then run. Layers are built on the CPU.
  void to_device(Device device);
  Device device() const { return device_; }

  // All parameters and buffers in node order: the PyTorch state_dict order.
  std::vector<Parameter*> parameters();
  std::vector<Parameter*> trainable_parameters();
  int64_t forward_flops() const;

 private:
  std::vector<GraphNode> nodes_;
  std::vector<std::vector<int>> consumers_;  // index id + 1 (0: the network input)
  Shape input_shape_;
  Device device_ = Device::CPU;
};

}  // namespace frugal
