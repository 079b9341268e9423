// BatchNorm with statistics over every data-parallel replica's batch (ops/norm.h, set_replica_sum).
// Per channel, each replica contributes its count m, mean and biased variance (channel_mean_std); the
// global mean and variance combine them in double in two sums (means first, then squared deviations
// about the global mean, so no cancellation): mean = sum(m mean_r) / M, var = sum(m (var_r + (mean_r -
// mean)^2)) / M. The normalisation then runs with these statistics, and the backward's data gradient
// uses the global means of dy and dy*xhat, as PyTorch's SyncBatchNorm: each replica's parameter
// gradients stay local sums, averaged with the other gradients afterwards.
#include <cmath>

#include "core/error.h"
#include "ops/norm.h"

namespace frugal {

float* BatchNorm::replica_scratch() {
  if (!replica_scratch_.defined())
    replica_scratch_ = Tensor::empty({2 * channels_}, DType::F32, &device_runtime(device()).allocator(),
                                     {MemoryCategory::Workspace, ""});
  return replica_scratch_.device_f32();
}

void BatchNorm::replica_forward(const float* x, float* y, float* save_mean, float* save_invstd, bool update,
                                bool relu) {
  const int64_t n = output_shape()[0], s = spatial_size(), c = channels_;
  const auto cs = static_cast<size_t>(c);
  const Kernels& k = kernels();
  DeviceRuntime& rt = device_runtime(device());
  host_.resize(5 * cs);  // mean | var (local, then global) | invstd | running mean | running var
  sums_.resize(cs + 1);
  float* mean = host_.data();
  float* var = mean + c;
  float* invstd = var + c;
  // This replica's mean and standard deviation, staged through the statistics buffers.
  k.channel_mean_std(n, c, s, x, save_mean, save_invstd);
  rt.copy(mean, Device::CPU, save_mean, device(), cs * sizeof(float));
  rt.copy(var, Device::CPU, save_invstd, device(), cs * sizeof(float));
  const double m = static_cast<double>(n * s);
  for (size_t ch = 0; ch < cs; ++ch) sums_[ch] = m * mean[ch];
  sums_[cs] = m;
  replicas_->sum(sums_.data(), c + 1, name() + " batch statistics (means)");
  const double total = sums_[cs];
  if (total < 2)
    throw ShapeError(where() + ": training needs more than one value per channel over all replicas, got " +
                     std::to_string(static_cast<int64_t>(total)));
  std::vector<double> global_mean(cs);
  for (size_t ch = 0; ch < cs; ++ch) {
    global_mean[ch] = sums_[ch] / total;
    const double d = static_cast<double>(mean[ch]) - global_mean[ch];
    const double sd = var[ch];
    sums_[ch] = m * (sd * sd + d * d);
  }
  replicas_->sum(sums_.data(), c, name() + " batch statistics (variances)");
  for (size_t ch = 0; ch < cs; ++ch) {
    mean[ch] = static_cast<float>(global_mean[ch]);
    var[ch] = static_cast<float>(sums_[ch] / total);
    // What batchnorm_forward_eval computes from this variance, so the backward sees the forward's scale.
    invstd[ch] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(var[ch]) + eps_));
  }
  if (update) {
    float* run_mean = invstd + c;
    float* run_var = run_mean + c;
    rt.copy(run_mean, Device::CPU, running_mean_.value.device_f32(), device(), cs * sizeof(float));
    rt.copy(run_var, Device::CPU, running_var_.value.device_f32(), device(), cs * sizeof(float));
    for (size_t ch = 0; ch < cs; ++ch) {  // as batchnorm_forward_train: unbiased variance, in double
      const double unbiased = sums_[ch] / (total - 1);
      run_mean[ch] = static_cast<float>((1.0 - momentum_) * run_mean[ch] + momentum_ * global_mean[ch]);
      run_var[ch] = static_cast<float>((1.0 - momentum_) * run_var[ch] + momentum_ * unbiased);
    }
    rt.copy(running_mean_.value.device_f32(), device(), run_mean, Device::CPU, cs * sizeof(float));
    rt.copy(running_var_.value.device_f32(), device(), run_var, Device::CPU, cs * sizeof(float));
    k.increment(num_batches_tracked_.value.device_data<int64_t>());
  }
  float* scratch = replica_scratch();
  rt.copy(scratch, device(), mean, Device::CPU, 2 * cs * sizeof(float));  // mean and var
  rt.copy(save_mean, device(), mean, Device::CPU, cs * sizeof(float));
  rt.copy(save_invstd, device(), invstd, Device::CPU, cs * sizeof(float));
  k.batchnorm_forward_eval(n, c, s, x, weight_.value.device_f32(), bias_.value.device_f32(), eps_, scratch,
                           scratch + c, y, relu);
  global_count_ = total;
}

void BatchNorm::replica_backward(const float* x, const float* x_shift, const float* x_scale,
                                 const float* save_invstd, const float* dy, float* dx) {
  // The parameter gradients (this replica's sums of dy*xhat and dy) are in place already.
  const int64_t n = output_shape()[0], s = spatial_size(), c = channels_;
  const auto cs = static_cast<size_t>(c);
  DeviceRuntime& rt = device_runtime(device());
  host_.resize(5 * cs);
  sums_.resize(2 * cs + 1);
  float* dgamma = host_.data();
  float* dbeta = dgamma + c;
  rt.copy(dgamma, Device::CPU, weight_.grad.device_f32(), device(), cs * sizeof(float));
  rt.copy(dbeta, Device::CPU, bias_.grad.device_f32(), device(), cs * sizeof(float));
  for (size_t ch = 0; ch < cs; ++ch) {
    sums_[ch] = dbeta[ch];
    sums_[cs + ch] = dgamma[ch];
  }
  replicas_->sum(sums_.data(), 2 * c, name() + " gradient sums");
  for (size_t i = 0; i < 2 * cs; ++i) host_[i] = static_cast<float>(sums_[i] / global_count_);
  float* means = replica_scratch();  // mean dy | mean dy*xhat
  rt.copy(means, device(), host_.data(), Device::CPU, 2 * cs * sizeof(float));
  kernels().batchnorm_backward_data_given_means(n, c, s, x, x_shift, x_scale, dy, weight_.value.device_f32(),
                                                save_invstd, means, means + c, dx);
}

}  // namespace frugal
