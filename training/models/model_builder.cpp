#include "training/models/model_builder.h"

#include "core/error.h"
#include "ops/conv.h"
#include "ops/elementwise.h"
#include "ops/linear.h"
#include "ops/norm.h"
#include "ops/pool.h"

namespace frugal {

namespace {
Shape with_batch(const Shape& s) {
  std::vector<int64_t> d{1};
  for (int i = 0; i < s.ndim(); ++i) d.push_back(s[i]);
  return Shape(d);
}
Shape without_batch(const Shape& s) {
  std::vector<int64_t> d;
  for (int i = 1; i < s.ndim(); ++i) d.push_back(s[i]);
  return Shape(d);
}
}  // namespace

ModelBuilder::ModelBuilder(uint64_t seed, const Shape& sample_shape)
    : graph_(std::make_unique<Graph>()), seed_(seed), input_shape_(sample_shape) {}

const Shape& ModelBuilder::shape_of(int node) const {
  return node == Graph::kInput ? input_shape_ : shapes_.at(node);
}

RngKey ModelBuilder::next_init_key() { return rng_key(seed_, RngStream::Init, weighted_layers_++); }

int ModelBuilder::append(std::unique_ptr<Layer> layer, std::vector<int> inputs) {
  std::vector<Shape> in;
  for (int i : inputs) in.push_back(with_batch(shape_of(i)));
  Shape out = layer->setup(in);  // validates shapes as the layer is added, naming it
  int id = graph_->add(std::move(layer), std::move(inputs));
  shapes_.push_back(without_batch(out));
  return id;
}

int ModelBuilder::conv(const std::string& name, int from, int64_t out_channels, int64_t kernel,
                       int64_t stride, int64_t padding, bool bias, int64_t groups, int64_t dilation) {
  const Shape& s = shape_of(from);
  if (s.ndim() != 3) throw ConfigError("layer '" + name + "': conv2d needs an image input, got " + s.str());
  Conv2dOptions o;
  o.in_channels = s[0];
  o.out_channels = out_channels;
  o.kernel_h = o.kernel_w = kernel;
  o.stride = stride;
  o.padding = padding;
  o.dilation = dilation;
  o.groups = groups;
  o.bias = bias;
  return append(std::make_unique<Conv2d>(name, o, next_init_key()), {from});
}

int ModelBuilder::linear(const std::string& name, int from, int64_t out_features, bool bias) {
  const Shape& s = shape_of(from);
  if (s.ndim() != 1)
    throw ConfigError("layer '" + name + "': linear needs a flat input (add a flatten layer), got " + s.str());
  return append(std::make_unique<Linear>(name, s[0], out_features, bias, next_init_key()), {from});
}

int ModelBuilder::batchnorm(const std::string& name, int from, float eps, float momentum) {
  const Shape& s = shape_of(from);
  return append(std::make_unique<BatchNorm>(name, s[0], s.ndim() == 3, eps, momentum), {from});
}

int ModelBuilder::activation(const std::string& name, int from, const ActivationSpec& spec) {
  return append(std::make_unique<Activation>(name, spec), {from});
}

int ModelBuilder::maxpool(const std::string& name, int from, int64_t kernel, int64_t stride, int64_t padding) {
  return append(std::make_unique<MaxPool2d>(name, Pool2dOptions{kernel, stride, padding, true}), {from});
}

int ModelBuilder::avgpool(const std::string& name, int from, int64_t kernel, int64_t stride, int64_t padding) {
  return append(std::make_unique<AvgPool2d>(name, Pool2dOptions{kernel, stride, padding, true}), {from});
}

int ModelBuilder::global_avgpool(const std::string& name, int from) {
  return append(std::make_unique<GlobalAvgPool>(name), {from});
}

int ModelBuilder::flatten(const std::string& name, int from) {
  return append(std::make_unique<Flatten>(name), {from});
}

int ModelBuilder::dropout(const std::string& name, int from, float p) {
  return append(std::make_unique<Dropout>(name, p), {from});
}

int ModelBuilder::add(const std::string& name, int a, int b) {
  return append(std::make_unique<Add>(name), {a, b});
}

std::unique_ptr<Graph> ModelBuilder::finish() {
  graph_->setup(with_batch(input_shape_));
  return std::move(graph_);
}

}  // namespace frugal
