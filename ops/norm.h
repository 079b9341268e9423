// BatchNorm2d ([N, C, H, W]) and BatchNorm1d ([N, C]) with PyTorch's parameters and buffers:
// weight, bias, running_mean, running_var, num_batches_tracked.
#pragma once
#include <vector>

#include "ops/layer.h"
#include "ops/replica_sum.h"

namespace frugal {

class BatchNorm : public Layer, public ReluFoldable {
 public:
  // spatial = true for BatchNorm2d.
  BatchNorm(std::string name, int64_t channels, bool spatial, float eps = 1e-5f,
            float momentum = 0.1f);
  const char* kind() const override { return spatial_ ? "BatchNorm2d" : "BatchNorm1d"; }
  Shape setup(const std::vector<Shape>& inputs) override;
  std::vector<Parameter*> parameters() override;
  int64_t forward_flops() const override { return 4 * output_shape().numel(); }
  // Exact backward keeps the input and the batch statistics (mean, 1/std per channel).
  SavedNeeds saved_needs() const override;
  void forward(const ForwardArgs& args) override;
  void backward(const BackwardArgs& args) override;
  // Not over replicas: their gradients are summed over every replica and copied in.
  bool can_accumulate_param_grads() const override { return replicas_ == nullptr; }
  // Folded ReLU: the mask is recomputed from the kept input and statistics.
  void forward_relu(const ForwardArgs& args) override { run_forward(args, true); }
  void backward_relu(const BackwardArgs& args) override;
  bool backward_relu_reads_output() const override { return false; }
  // The backward from the normalised input x̂ instead of x (modes that keep an approximate x̂).
  void backward_from_normalized(const Tensor& xhat, const Tensor& save_invstd,
                                const Tensor& grad_output, Tensor* grad_input);

  // Training statistics over the batches of every data-parallel replica (distributed.sync_batchnorm):
  // the forward sums each channel's count, mean and squared deviations over `replicas`, the backward
  // sums of dy and dy*xhat. Null (the default): this batch's statistics. A folded ReLU is not supported
  // then (the executor must not fold).
  void set_replica_sum(ReplicaSum* replicas) { replicas_ = replicas; }

  int64_t channels() const { return channels_; }
  float eps() const { return eps_; }
  Parameter& gamma() { return weight_; }
  Parameter& beta() { return bias_; }

 private:
  int64_t spatial_size() const;
  void run_forward(const ForwardArgs& args, bool relu);
  // Over all replicas (norm_replicas.cpp): statistics into save_mean/save_invstd, then y; and dx from
  // the global means of dy and dy*xhat (x_shift/x_scale as in batchnorm_backward_data_given_means).
  void replica_forward(const float* x, float* y, float* save_mean, float* save_invstd, bool update, bool relu);
  void replica_backward(const float* x, const float* x_shift, const float* x_scale, const float* save_invstd,
                        const float* dy, float* dx);
  float* replica_scratch();  // [2C] device floats of the layer's own

  int64_t channels_;
  bool spatial_;
  float eps_, momentum_;
  Parameter weight_, bias_, running_mean_, running_var_, num_batches_tracked_;
  Tensor statistics_scratch_;  // mean and 1/std [2C] of a training forward given no aux buffers
  ReplicaSum* replicas_ = nullptr;
  Tensor replica_scratch_;         // [2C] floats on the device: global mean and variance, or the two means
  std::vector<float> host_;        // [4C] host staging
  std::vector<double> sums_;       // [2C + 1] summed over replicas
  double global_count_ = 0;        // values per channel over all replicas, from the last training forward
};

}  // namespace frugal
