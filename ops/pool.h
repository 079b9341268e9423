// MaxPool2d, AvgPool2d (square kernel/stride/padding as in the configs) and global average pooling.
#pragma once
#include "ops/pool_geometry.h"
#include "ops/layer.h"

namespace frugal {

struct Pool2dOptions {
  int64_t kernel = 2, stride = 0 /* 0 = kernel */, padding = 0;
  bool count_include_pad = true;
};

class MaxPool2d : public Layer {
 public:
  MaxPool2d(std::string name, const Pool2dOptions& opts) : Layer(std::move(name)), opts_(opts) {}
  const char* kind() const override { return "MaxPool2d"; }
  Shape setup(const std::vector<Shape>& inputs) override;
  int64_t forward_flops() const override;
  // Keeps the position of each maximum inside its window: one byte per output element.
  SavedNeeds saved_needs() const override;
  void forward(const ForwardArgs& args) override;
  void backward(const BackwardArgs& args) override;

 private:
  Pool2dOptions opts_;
  Pool2dGeometry geometry_{};
};

class AvgPool2d : public Layer {
 public:
  AvgPool2d(std::string name, const Pool2dOptions& opts) : Layer(std::move(name)), opts_(opts) {}
  const char* kind() const override { return "AvgPool2d"; }
  Shape setup(const std::vector<Shape>& inputs) override;
  int64_t forward_flops() const override;
  SavedNeeds saved_needs() const override { return {{false}, false, {}}; }
  void forward(const ForwardArgs& args) override;
  void backward(const BackwardArgs& args) override;

 private:
  Pool2dOptions opts_;
  Pool2dGeometry geometry_{};
};

// [N, C, H, W] -> [N, C]
class GlobalAvgPool : public Layer {
 public:
  using Layer::Layer;
  const char* kind() const override { return "GlobalAvgPool"; }
  Shape setup(const std::vector<Shape>& inputs) override;
  int64_t forward_flops() const override { return input_shapes()[0].numel(); }
  SavedNeeds saved_needs() const override { return {{false}, false, {}}; }
  void forward(const ForwardArgs& args) override;
  void backward(const BackwardArgs& args) override;
};

}  // namespace frugal
