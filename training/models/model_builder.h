// Builds graphs layer by layer with PyTorch names, keeping track of the current channel count and
// handing each weighted layer its own initialisation key.
#pragma once
#include <memory>
#include <string>

#include "ops/activation.h"
#include "training/graph.h"

namespace frugal {

class ModelBuilder {
 public:
  ModelBuilder(uint64_t seed, const Shape& sample_shape);  // sample_shape: [C, H, W] or [F]

  int input() const { return Graph::kInput; }
  int conv(const std::string& name, int from, int64_t out_channels, int64_t kernel, int64_t stride,
           int64_t padding, bool bias, int64_t groups = 1, int64_t dilation = 1);
  int linear(const std::string& name, int from, int64_t out_features, bool bias = true);
  // 2d or 1d from the current shape; eps and momentum as PyTorch defines them.
  int batchnorm(const std::string& name, int from, float eps = 1e-5f, float momentum = 0.1f);
  int activation(const std::string& name, int from, const ActivationSpec& spec);
  int maxpool(const std::string& name, int from, int64_t kernel, int64_t stride, int64_t padding = 0);
  int avgpool(const std::string& name, int from, int64_t kernel, int64_t stride, int64_t padding = 0);
  int global_avgpool(const std::string& name, int from);
  int flatten(const std::string& name, int from);
  int dropout(const std::string& name, int from, float p);
  int add(const std::string& name, int a, int b);

  // Per-sample shape ([C, H, W] or [F]) of a node's output (or of the input for kInput).
  const Shape& shape_of(int node) const;
  std::unique_ptr<Graph> finish();

 private:
  int append(std::unique_ptr<Layer> layer, std::vector<int> inputs);
  RngKey next_init_key();

  std::unique_ptr<Graph> graph_;
  uint64_t seed_;
  uint64_t weighted_layers_ = 0;
  Shape input_shape_;
  std::vector<Shape> shapes_;  // per node, batch of 1
};

}  // namespace frugal
