// Helpers for the quantized mode tests: a small network with every role (BN-fed ReLU, Add-fed ReLU,
// convs reading both, fallbacks), batches, gradient snapshots, and the hand-written reference backward
// that applies BLPA's rules layer by layer with the quantize kernels.
#pragma once
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/training/config_sections.h"
#include "ops/kernels.h"
#include "ops/loss.h"
#include "ops/norm.h"
#include "ops/packed_codes.h"
#include "training/executor.h"
#include "training/models/model_builder.h"
#include "training/modes/exact.h"
#include "training/modes/registry.h"

namespace frugal::quantized_test {

using json = nlohmann::json;

inline const ActivationSpec kRelu = default_activation_spec(ActivationKind::ReLU);
constexpr int kClasses = 3;

// conv-BN-ReLU, conv-BN + identity shortcut, Add, ReLU (a ReLU without a BN producer), strided conv,
// global pool, linear. Input [N, 3, 6, 6].
inline std::unique_ptr<Graph> small_block_net(uint64_t seed) {
  ModelBuilder b(seed, Shape{3, 6, 6});
  int x = b.conv("conv1", b.input(), 4, 3, 1, 1, false);
  x = b.batchnorm("bn1", x);
  x = b.activation("relu1", x, kRelu);
  int y = b.conv("conv2", x, 4, 3, 1, 1, false);
  y = b.batchnorm("bn2", y);
  y = b.add("add", y, x);
  y = b.activation("relu2", y, kRelu);
  y = b.conv("conv3", y, 5, 3, 2, 1, true);
  y = b.global_avgpool("pool", y);
  b.linear("fc", y, kClasses);
  return b.finish();
}

struct Batch {
  Tensor images, labels;
};

inline Batch random_batch(const Shape& sample, int64_t n, uint64_t seed) {
  Shape shape = sample;
  std::vector<int64_t> dims{n};
  for (int i = 0; i < shape.ndim(); ++i) dims.push_back(shape[i]);
  Batch b{Tensor::empty(Shape(dims)), Tensor::empty({n}, DType::I32)};
  rng_normal(rng_key(seed, RngStream::Test, 1), b.images.f32(), b.images.numel());
  for (int64_t i = 0; i < n; ++i) b.labels.data<int32_t>()[i] = static_cast<int32_t>((i * 7 + seed) % kClasses);
  return b;
}

inline std::vector<std::unique_ptr<BackwardMode>> modes_from(Graph& g, const json& backward) {
  return testing_support::assign_modes(g, backward, 0);
}

inline json quantized_default(int bits) { return {{"default", {{"mode", "quantized"}, {"bits", bits}}}}; }

inline std::vector<std::unique_ptr<BackwardMode>> exact_modes(const Graph& g) {
  std::vector<std::unique_ptr<BackwardMode>> m;
  for (int i = 0; i < g.size(); ++i) m.push_back(std::make_unique<ExactMode>());
  return m;
}

inline std::map<std::string, Tensor> gradients(Graph& g) {
  std::map<std::string, Tensor> out;
  for (Parameter* p : g.trainable_parameters()) out[p->name] = p->grad.clone();
  return out;
}

inline double cosine(const Tensor& a, const Tensor& b) {
  double ab = 0, aa = 0, bb = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    ab += double(a.f32()[i]) * b.f32()[i];
    aa += double(a.f32()[i]) * a.f32()[i];
    bb += double(b.f32()[i]) * b.f32()[i];
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : (aa == bb ? 1.0 : 0.0);
}
// ---- The same backward written out by hand ------------------------------------------------------

// Forward values of small_block_net, computed layer by layer outside the executor.
struct ManualForward {
  std::vector<Tensor> out;
  std::vector<std::vector<Tensor>> aux;
};

inline ManualForward run_forward(Graph& g, const Tensor& images) {
  ManualForward f;
  f.out.reserve(g.size());  // inputs point into it
  f.aux.reserve(g.size());
  for (int i = 0; i < g.size(); ++i) {
    Layer& layer = g.layer(i);
    ForwardArgs a;
    f.out.push_back(Tensor::empty(layer.output_shape()));
    for (int v : g.node(i).inputs) a.inputs.push_back(v == Graph::kInput ? &images : &f.out[v]);
    f.aux.emplace_back();
    for (const AuxSpec& s : layer.saved_needs().aux) f.aux.back().push_back(Tensor::empty(s.shape, s.dtype));
    for (Tensor& t : f.aux.back()) a.aux.push_back(&t);
    std::vector<float> ws(layer.forward_workspace_bytes() / sizeof(float) + 1);
    a.output = &f.out.back();
    a.workspace = ws.data();
    layer.forward(a);
  }
  return f;
}

// Quantize-then-dequantize of a value, as the mode's kernels do it.
struct Code {
  std::vector<float> grid;
  std::vector<uint8_t> packed;
  int64_t n, c, s;
};

inline Code encode(const Tensor& y, const std::vector<float>& mean, const std::vector<float>& sd, int bits) {
  Code k{std::vector<float>(3 * mean.size()), std::vector<uint8_t>(packed_bytes(y.numel(), bits)), y.dim(0),
         y.dim(1), y.numel() / (y.dim(0) * y.dim(1))};
  kernels_for(Device::CPU).relu_grid(k.c, mean.data(), sd.data(), bits, k.grid.data());
  kernels_for(Device::CPU).quantize(k.n, k.c, k.s, y.f32(), k.grid.data(), bits, k.packed.data());
  return k;
}

inline Code encode_bn_output(BatchNorm& bn, const Tensor& y, const Tensor& invstd, int bits) {
  std::vector<float> mean(bn.channels()), sd(bn.channels());
  for (int64_t c = 0; c < bn.channels(); ++c) {
    mean[c] = bn.beta().value.f32()[c];
    const double shrink = 1.0 - double(bn.eps()) * invstd.f32()[c] * invstd.f32()[c];
    sd[c] = static_cast<float>(std::abs(bn.gamma().value.f32()[c]) * std::sqrt(std::max(shrink, 0.0)));
  }
  return encode(y, mean, sd, bits);
}

inline Tensor relu_values(const Code& k, const Shape& shape, int bits) {
  Tensor h = Tensor::empty(shape);
  kernels_for(Device::CPU).dequantize_relu(k.n, k.c, k.s, k.packed.data(), k.grid.data(), bits, h.f32());
  return h;
}

inline Tensor normalized(const Code& k, BatchNorm& bn, int bits) {
  Tensor x = Tensor::empty(bn.output_shape());
  kernels_for(Device::CPU).dequantize_normalized(k.n, k.c, k.s, k.packed.data(), k.grid.data(), bits,
                                                 bn.gamma().value.f32(), bn.beta().value.f32(), x.f32());
  return x;
}

inline Tensor relu_mask_backward(const Tensor& y, const Tensor& dy) {
  Tensor dx = Tensor::empty(y.shape());
  for (int64_t i = 0; i < y.numel(); ++i) dx.f32()[i] = y.f32()[i] > 0 ? dy.f32()[i] : 0.0f;
  return dx;
}

// Parameter gradients of small_block_net from BLPA's rules applied by hand: exact forward values,
// K-bit codes of bn1's output and of relu2's input, x̃ for the BNs, h̃ for conv2 and conv3, exact masks.
inline std::map<std::string, Tensor> manual_quantized_gradients(Graph& g, const Batch& b, int bits) {
  ManualForward f = run_forward(g, b.images);
  auto node = [&](const char* name) { return g.find(name); };
  auto& conv1 = static_cast<WeightedLayer&>(g.layer(node("conv1")));
  auto& bn1 = static_cast<BatchNorm&>(g.layer(node("bn1")));
  auto& conv2 = static_cast<WeightedLayer&>(g.layer(node("conv2")));
  auto& bn2 = static_cast<BatchNorm&>(g.layer(node("bn2")));
  auto& conv3 = static_cast<WeightedLayer&>(g.layer(node("conv3")));
  Layer& pool = g.layer(node("pool"));
  Layer& fc = g.layer(node("fc"));
  auto out = [&](const char* name) -> Tensor& { return f.out[node(name)]; };

  Code bn1_code = encode_bn_output(bn1, out("bn1"), f.aux[node("bn1")][1], bits);
  Code bn2_code = encode_bn_output(bn2, out("bn2"), f.aux[node("bn2")][1], bits);
  std::vector<float> mean(4), sd(4);
  kernels_for(Device::CPU).channel_mean_std(out("add").dim(0), 4, 36, out("add").f32(), mean.data(), sd.data());
  Code relu2_code = encode(out("add"), mean, sd, bits);

  SoftmaxCrossEntropy loss(0.0f);
  Tensor probs = Tensor::empty(out("fc").shape()), dlogits = Tensor::empty(out("fc").shape());
  loss.forward(out("fc"), b.labels, probs);
  loss.backward(probs, b.labels, dlogits);

  auto exact_backward = [&](Layer& layer, const Tensor& input, const Tensor& dy) {
    Tensor dx = Tensor::empty(input.shape());
    BackwardArgs a;
    a.inputs = {&input};
    a.grad_output = &dy;
    a.grad_inputs = {&dx};
    std::vector<float> ws(layer.backward_workspace_bytes() / sizeof(float) + 1);
    a.workspace = ws.data();
    layer.backward(a);
    return dx;
  };
  auto data_and_weight = [&](WeightedLayer& layer, const Tensor& input, const Tensor& dy, bool need_dx) {
    std::vector<float> ws(layer.backward_workspace_bytes() / sizeof(float) + 1);
    Tensor dx = Tensor::empty(input.shape());
    if (need_dx) layer.backward_data(dy, layer.weight().value, dx, ws.data());
    layer.backward_weight(input, dy, ws.data());
    return dx;
  };
  auto bn_backward = [&](BatchNorm& bn, const Code& code, const Tensor& invstd, const Tensor& dy) {
    Tensor dx = Tensor::empty(bn.output_shape());
    bn.backward_from_normalized(normalized(code, bn, bits), invstd, dy, &dx);
    return dx;
  };

  Tensor d_pool = exact_backward(fc, out("pool"), dlogits);
  Tensor d_conv3 = exact_backward(pool, out("conv3"), d_pool);
  Tensor d_relu2 = data_and_weight(conv3, relu_values(relu2_code, out("add").shape(), bits), d_conv3, true);
  Tensor d_add = relu_mask_backward(out("add"), d_relu2);
  Tensor d_conv2 = bn_backward(bn2, bn2_code, f.aux[node("bn2")][1], d_add);
  Tensor d_relu1 = data_and_weight(conv2, relu_values(bn1_code, out("relu1").shape(), bits), d_conv2, true);
  for (int64_t i = 0; i < d_relu1.numel(); ++i) d_relu1.f32()[i] += d_add.f32()[i];  // the shortcut
  Tensor d_bn1 = relu_mask_backward(out("bn1"), d_relu1);
  Tensor d_conv1 = bn_backward(bn1, bn1_code, f.aux[node("bn1")][1], d_bn1);
  data_and_weight(conv1, b.images, d_conv1, false);
  return gradients(g);
}

}  // namespace frugal::quantized_test
