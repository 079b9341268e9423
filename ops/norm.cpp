#include "ops/norm.h"

#include "core/error.h"

namespace frugal {

BatchNorm::BatchNorm(std::string name, int64_t channels, bool spatial, float eps, float momentum)
    : Layer(std::move(name)), channels_(channels), spatial_(spatial), eps_(eps), momentum_(momentum) {
  if (channels <= 0) throw ShapeError(where() + ": invalid channel count " + std::to_string(channels));
  // The layer's name outlives its parameters; an allocation that fails names it.
  AllocTag wtag{MemoryCategory::Weights, this->name().c_str()}, gtag{MemoryCategory::Gradients, this->name().c_str()};
  auto param = [&](const char* suffix, float value, bool trainable) {
    Parameter p{this->name() + "." + suffix, Tensor::empty({channels}, DType::F32, nullptr, wtag), {},
                trainable, true};
    p.value.fill(value);
    if (trainable) p.grad = Tensor::zeros({channels}, DType::F32, nullptr, gtag);
    return p;
  };
  weight_ = param("weight", 1.0f, true);
  bias_ = param("bias", 0.0f, true);
  running_mean_ = param("running_mean", 0.0f, false);
  running_var_ = param("running_var", 1.0f, false);
  num_batches_tracked_ = {this->name() + ".num_batches_tracked",
                          Tensor::zeros({}, DType::I64, nullptr, wtag), {}, false, false};
}

Shape BatchNorm::setup(const std::vector<Shape>& inputs) {
  const Shape& x = inputs.at(0);
  bool ok = spatial_ ? x.ndim() == 4 : x.ndim() == 2;
  if (!ok || x[1] != channels_)
    throw ShapeError(where() + ": expected input " +
                     (spatial_ ? "[N, " + std::to_string(channels_) + ", H, W]"
                               : "[N, " + std::to_string(channels_) + "]") +
                     ", got " + x.str());
  bind(inputs, x);
  return x;
}

std::vector<Parameter*> BatchNorm::parameters() {
  return {&weight_, &bias_, &running_mean_, &running_var_, &num_batches_tracked_};
}

int64_t BatchNorm::spatial_size() const {
  const Shape& x = output_shape();
  return spatial_ ? x[2] * x[3] : 1;
}

SavedNeeds BatchNorm::saved_needs() const {
  return {{true}, false, {{"save_mean", {channels_}, DType::F32}, {"save_invstd", {channels_}, DType::F32}}};
}

void BatchNorm::forward(const ForwardArgs& args) { run_forward(args, false); }

void BatchNorm::run_forward(const ForwardArgs& args, bool relu) {
  const int64_t n = output_shape()[0], s = spatial_size();
  const float* x = args.inputs[0]->device_f32();
  float* y = args.output->device_f32();
  if (!args.training) {
    kernels().batchnorm_forward_eval(n, channels_, s, x, weight_.value.device_f32(), bias_.value.device_f32(), eps_,
                               running_mean_.value.device_f32(), running_var_.value.device_f32(), y, relu);
    return;
  }
  if (n * s < 2)
    throw ShapeError(where() + ": training needs more than one value per channel, got input " +
                     args.inputs[0]->shape().str());
  float* mean = args.aux.size() > 1 ? args.aux[0]->device_f32() : nullptr;
  float* invstd = args.aux.size() > 1 ? args.aux[1]->device_f32() : nullptr;
  // Without aux (a training-mode forward whose backward never runs) the statistics go to a small
  // buffer of the layer's own, made on first use.
  if (!mean) {
    if (!statistics_scratch_.defined())
      statistics_scratch_ = Tensor::empty({2 * channels_}, DType::F32, &device_runtime(device()).allocator(),
                                          {MemoryCategory::Workspace, name().c_str()});
    mean = statistics_scratch_.device_f32();
    invstd = mean + channels_;
  }
  bool update = args.update_running_stats;
  if (replicas_) {
    replica_forward(x, y, mean, invstd, update, relu);
    return;
  }
  kernels().batchnorm_forward_train(n, channels_, s, x, weight_.value.device_f32(), bias_.value.device_f32(), eps_, momentum_,
                              update ? running_mean_.value.device_f32() : nullptr,
                              update ? running_var_.value.device_f32() : nullptr, y, mean, invstd, relu);
  if (update) kernels().increment(num_batches_tracked_.value.device_data<int64_t>());
}

void BatchNorm::backward(const BackwardArgs& args) {
  const int64_t n = output_shape()[0], s = spatial_size();
  Tensor* dx = args.grad_inputs[0];
  if (replicas_) {
    const float* mean = args.aux[0]->device_f32();
    const float* invstd = args.aux[1]->device_f32();
    kernels().batchnorm_backward(n, channels_, s, args.inputs[0]->device_f32(), args.grad_output->device_f32(),
                                 weight_.value.device_f32(), mean, invstd, nullptr, weight_.grad.device_f32(),
                                 bias_.grad.device_f32(), false);
    if (dx) replica_backward(args.inputs[0]->device_f32(), mean, invstd, invstd, args.grad_output->device_f32(),
                             dx->device_f32());
    return;
  }
  kernels().batchnorm_backward(n, channels_, s, args.inputs[0]->device_f32(), args.grad_output->device_f32(),
                         weight_.value.device_f32(), args.aux[0]->device_f32(), args.aux[1]->device_f32(),
                         dx ? dx->device_f32() : nullptr, weight_.grad.device_f32(), bias_.grad.device_f32(),
                         accumulate_param_grads());
}

void BatchNorm::backward_relu(const BackwardArgs& args) {
  if (replicas_)
    throw InternalError(where() + ": a ReLU folded into a BatchNorm with statistics over replicas");
  const int64_t n = output_shape()[0], s = spatial_size();
  Tensor* dx = args.grad_inputs[0];
  kernels().batchnorm_relu_backward(n, channels_, s, args.inputs[0]->device_f32(), args.grad_output->device_f32(),
                              weight_.value.device_f32(), bias_.value.device_f32(), args.aux[0]->device_f32(), args.aux[1]->device_f32(),
                              dx ? dx->device_f32() : nullptr, weight_.grad.device_f32(), bias_.grad.device_f32());
}

void BatchNorm::backward_from_normalized(const Tensor& xhat, const Tensor& save_invstd,
                                         const Tensor& grad_output, Tensor* grad_input) {
  const int64_t n = output_shape()[0], s = spatial_size();
  if (replicas_) {
    kernels().batchnorm_backward_from_xhat(n, channels_, s, xhat.device_f32(), grad_output.device_f32(),
                                           weight_.value.device_f32(), save_invstd.device_f32(), nullptr,
                                           weight_.grad.device_f32(), bias_.grad.device_f32(), false);
    if (grad_input)
      replica_backward(xhat.device_f32(), nullptr, nullptr, save_invstd.device_f32(), grad_output.device_f32(),
                       grad_input->device_f32());
    return;
  }
  kernels().batchnorm_backward_from_xhat(n, channels_, s, xhat.device_f32(), grad_output.device_f32(), weight_.value.device_f32(),
                                   save_invstd.device_f32(), grad_input ? grad_input->device_f32() : nullptr,
                                   weight_.grad.device_f32(), bias_.grad.device_f32(), accumulate_param_grads());
}

}  // namespace frugal
