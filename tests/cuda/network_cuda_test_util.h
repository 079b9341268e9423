// What the network-level CUDA tests share: small validated configs of the three test networks on
// synthetic data, a random batch, and comparisons of tensors that live on either device.
#pragma once
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config/config.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "training/config/frugal_schema.h"

namespace frugal::testing {

// model: "mlp" (with dropout, so the dropout masks of both devices meet), "cnn" or "resnet20" (narrow,
// 16x16 inputs: every block shape of the real one, at a size a step takes milliseconds on).
inline nlohmann::json network_config(const std::string& model, const nlohmann::json& mode, const std::string& device,
                                     int64_t batch = 8) {
  nlohmann::json arch, shape;
  if (model == "mlp") {
    arch = {{"arch", "mlp"}, {"hidden", {48, 32}}, {"dropout", 0.1}};
    shape = {1, 8, 8};
  } else if (model == "cnn") {
    arch = {{"arch", "cnn"}, {"channels", {8, 16}}, {"hidden", {32}}};
    shape = {1, 12, 12};
  } else {
    arch = {{"arch", "resnet"}, {"depth", 20}, {"width", 8}};
    shape = {3, 16, 16};
  }
  nlohmann::json config = {
      {"name", "cuda_" + model},
      {"seed", 11},
      {"threads", 2},
      {"device", device},
      {"data",
       {{"dataset", "synthetic"},
        {"batch_size", batch},
        {"test_batch_size", 16},
        {"prefetch", 0},
        {"synthetic", {{"shape", shape}, {"classes", 10}, {"train_size", 4 * batch}, {"test_size", 32}}}}},
      {"model", arch},
      {"backward", {{"default", mode}}},
      {"optimizer", {{"name", "sgd"}, {"lr", 0.05}, {"momentum", 0.9}, {"weight_decay", 5e-4}}},
      {"train", {{"epochs", 2}, {"log_every", 1000}}}};
  return validate_config(config, frugal_config_schema(), "tests/cuda network config");
}

// Standard normal images and labels (i * 3 + 1) % 10 for a network_config model, on the host.
inline std::pair<Tensor, Tensor> host_batch(const std::string& model, int64_t n) {
  const Shape images = model == "mlp" ? Shape{n, 1, 8, 8} : model == "cnn" ? Shape{n, 1, 12, 12} : Shape{n, 3, 16, 16};
  Tensor x = Tensor::empty(images), y = Tensor::empty({n}, DType::I32);
  rng_normal(rng_key(23, RngStream::Test, 1), x.f32(), x.numel());
  for (int64_t i = 0; i < n; ++i) y.data<int32_t>()[i] = static_cast<int32_t>((i * 3 + 1) % 10);
  return {x, y};
}

// ||a - b|| / ||b|| over two float tensors of one shape on any devices (0 when both are zero).
inline double relative_l2(const Tensor& a, const Tensor& b) {
  const Tensor ha = a.to(Device::CPU), hb = b.to(Device::CPU);
  double diff = 0, ref = 0;
  for (int64_t i = 0; i < hb.numel(); ++i) {
    const double d = double(ha.f32()[i]) - hb.f32()[i];
    diff += d * d;
    ref += double(hb.f32()[i]) * hb.f32()[i];
  }
  return ref > 0 ? std::sqrt(diff / ref) : std::sqrt(diff);
}

// Whether two tensors on any devices hold the same bytes.
inline bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor ha = a.to(Device::CPU), hb = b.to(Device::CPU);
  return std::memcmp(ha.raw(), hb.raw(), ha.nbytes()) == 0;
}

}  // namespace frugal::testing
