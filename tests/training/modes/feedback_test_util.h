// Helpers shared by the fa, dfa and mem_dfa tests: small networks, random batches, modes from config
// entries, and parameter snapshots for bit-for-bit comparisons.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/training/config_sections.h"
#include "training/executor.h"
#include "training/models/model_builder.h"
#include "training/modes/registry.h"

namespace frugal::feedback_test {

inline const ActivationSpec kRelu = default_activation_spec(ActivationKind::ReLU);

// Two conv-BN-ReLU-pool blocks, flatten, linear-ReLU(-dropout), classifier; input [2, 8, 8], 5 classes.
inline std::unique_ptr<Graph> small_cnn(uint64_t seed, float dropout = 0.0f) {
  ModelBuilder b(seed, Shape{2, 8, 8});
  int x = b.conv("0", b.input(), 4, 3, 1, 1, false);
  x = b.batchnorm("1", x);
  x = b.activation("2", x, kRelu);
  x = b.maxpool("3", x, 2, 2);
  x = b.conv("4", x, 6, 3, 1, 1, false);
  x = b.batchnorm("5", x);
  x = b.activation("6", x, kRelu);
  x = b.maxpool("7", x, 2, 2);
  x = b.flatten("8", x);
  x = b.linear("9", x, 12);
  x = b.activation("10", x, kRelu);
  if (dropout > 0) x = b.dropout("11", x, dropout);
  b.linear(dropout > 0 ? "12" : "11", x, 5);
  return b.finish();
}

// flatten, then `hidden` blocks linear-ReLU(-dropout) of `width`, classifier; input [1, 4, 4], 5 classes.
inline std::unique_ptr<Graph> small_mlp(uint64_t seed, int hidden, int64_t width, float dropout = 0.0f) {
  ModelBuilder b(seed, Shape{1, 4, 4});
  int x = b.flatten("0", b.input());
  int k = 1;
  for (int i = 0; i < hidden; ++i) {
    x = b.linear(std::to_string(k++), x, width);
    x = b.activation(std::to_string(k++), x, kRelu);
    if (dropout > 0) x = b.dropout(std::to_string(k++), x, dropout);
  }
  b.linear(std::to_string(k), x, 5);
  return b.finish();
}

struct Batch {
  Tensor images, labels;
};

inline Batch random_batch(const Shape& sample, int64_t n, uint64_t seed, int classes = 5) {
  Shape s = sample;
  std::vector<int64_t> dims{n};
  for (int i = 0; i < s.ndim(); ++i) dims.push_back(s[i]);
  Batch b{Tensor::empty(Shape(dims)), Tensor::empty({n}, DType::I32)};
  rng_normal(rng_key(seed, RngStream::Test, 1), b.images.f32(), b.images.numel());
  for (int64_t i = 0; i < n; ++i) b.labels.data<int32_t>()[i] = static_cast<int32_t>((i * 7 + seed) % classes);
  return b;
}

// The per-sample input shape of a set-up graph.
inline Shape sample_shape(const Graph& g) {
  std::vector<int64_t> dims;
  for (int i = 1; i < g.input_shape().ndim(); ++i) dims.push_back(g.input_shape()[i]);
  return Shape(dims);
}

inline std::vector<std::unique_ptr<BackwardMode>> modes_from(Graph& g, const nlohmann::json& backward,
                                                             uint64_t seed = 17) {
  return testing_support::assign_modes(g, backward, seed);
}

// Every parameter and buffer (BN running statistics included), flattened, in state_dict order.
inline std::vector<std::vector<float>> values_of(Graph& g) {
  std::vector<std::vector<float>> out;
  for (Parameter* p : g.parameters()) {
    if (p->value.dtype() != DType::F32) continue;
    out.emplace_back(p->value.f32(), p->value.f32() + p->value.numel());
  }
  return out;
}

inline std::vector<std::vector<float>> grads_of(Graph& g) {
  std::vector<std::vector<float>> out;
  for (Parameter* p : g.trainable_parameters()) out.emplace_back(p->grad.f32(), p->grad.f32() + p->grad.numel());
  return out;
}

}  // namespace frugal::feedback_test
