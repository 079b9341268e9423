// Linear layer: y = x W^T + b with weight [out, in] (PyTorch layout); input [N, in].
#pragma once
#include "ops/layer.h"

namespace frugal {

class Linear : public WeightedLayer {
 public:
  Linear(std::string name, int64_t in_features, int64_t out_features, bool bias,
         const RngKey& init_key);
  const char* kind() const override { return "Linear"; }
  Shape setup(const std::vector<Shape>& inputs) override;
  std::vector<Parameter*> parameters() override;
  int64_t forward_flops() const override { return 2 * batch_ * in_ * out_; }
  SavedNeeds saved_needs() const override { return {{true}, false, {}}; }
  void forward(const ForwardArgs& args) override;
  void backward(const BackwardArgs& args) override;
  bool can_accumulate_param_grads() const override { return true; }

  Parameter& weight() override { return weight_; }
  Parameter* bias() override { return has_bias_ ? &bias_ : nullptr; }
  void backward_data(const Tensor& grad_output, const Tensor& weight, Tensor& grad_input,
                     float* workspace) override;
  void backward_weight(const Tensor& input, const Tensor& grad_output, float* workspace) override;
  void backward_bias(const Tensor& grad_output) override;
  bool can_split_weight_gradient() const override { return true; }

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }

 private:
  int64_t in_, out_, batch_ = 0;
  bool has_bias_;
  Parameter weight_, bias_;
};

}  // namespace frugal
