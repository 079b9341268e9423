#include "training/schedules/mem_dfa_runner.h"

#include "core/error.h"
#include "training/conv_algorithms.h"

namespace frugal {

MemDfaRunner::MemDfaRunner(Executor& executor, const std::string& planner_name, int64_t num_classes,
                           float label_smoothing)
    : graph_(executor.graph()), num_classes_(num_classes), loss_(label_smoothing), planner_(make_planner(planner_name)) {
  for (int i = 0; i < graph_.size(); ++i) {
    auto* mode = dynamic_cast<DfaMode*>(&executor.mode(i));
    const std::string& name = graph_.layer(i).name();
    if (!mode)
      throw ConfigError("the mem_dfa schedule needs every layer in backward mode 'mem_dfa', but layer '" + name +
                        "' runs '" + executor.mode(i).name() + "'");
    modes_.push_back(mode);
  }
  const int broken = first_break_in_chain(graph_);
  if (broken >= 0)
    throw ConfigError("the mem_dfa schedule needs a sequential network (each layer reading only the one before it), "
                      "but layer '" + graph_.layer(broken).name() + "' breaks the chain");
}

void MemDfaRunner::prepare(int64_t batch) {
  Shape in = graph_.input_shape();
  in[0] = batch;
  if (graph_.input_shape() != in) graph_.setup(in);
  if (ready_ && plan_.batch == batch) return;
  fit_winograd_to_memory(graph_, [&] {
    return lower_bound_bytes(build_mem_dfa_plan(graph_, modes_, batch, num_classes_).step);
  });
  plan_ = build_mem_dfa_plan(graph_, modes_, batch, num_classes_);
  planner_->plan(plan_.step);
  tensors_.clear();
  for (size_t id = 0; id < plan_.step.buffers.size(); ++id)
    tensors_.push_back(Tensor::wrap(nullptr, plan_.shapes[id], plan_.dtypes[id]));
  acquire_at_.assign(plan_.step.num_times(), {});
  release_at_.assign(plan_.step.num_times(), {});
  for (const BufferSpec& s : plan_.step.buffers) {
    acquire_at_[s.first_use].push_back(s.id);
    release_at_[s.last_use].push_back(s.id);
  }
  ready_ = true;
}

const MemDfaPlan& MemDfaRunner::plan(int64_t batch) {
  prepare(batch);
  return plan_;
}

void MemDfaRunner::enter(int32_t t) {
  for (int32_t id : acquire_at_[t]) tensors_[id].storage()->rebind(planner_->acquire(id));
}

void MemDfaRunner::leave(int32_t t) {
  for (int32_t id : release_at_[t]) {
    planner_->release(id);
    tensors_[id].storage()->rebind(nullptr);
  }
}

void MemDfaRunner::forward_node(int node, bool recompute, uint64_t step, uint64_t seed) {
  const MemDfaNodeBuffers& nb = plan_.nodes[node];
  ForwardArgs args;
  if (node == 0) args.inputs.push_back(&tensors_[plan_.input]);
  else args.inputs.push_back(buffer(recompute ? plan_.nodes[node - 1].output2 : plan_.nodes[node - 1].output1));
  args.output = buffer(recompute ? nb.output2 : nb.output1);
  for (int32_t id : recompute ? nb.aux2 : nb.aux1) args.aux.push_back(buffer(id));
  const int32_t ws = recompute ? nb.forward_workspace2 : nb.forward_workspace1;
  args.workspace = ws == kNoBuffer ? nullptr : static_cast<float*>(tensors_[ws].raw());
  args.training = true;
  args.update_running_stats = !recompute;  // BN statistics move once per step, as in dfa
  // The executor's dropout key, so both passes (and dfa) draw the same masks.
  args.rng = {seed, (static_cast<uint64_t>(RngStream::Dropout) << 32) | static_cast<uint64_t>(node), step};
  graph_.layer(node).forward(args);
}

void MemDfaRunner::backward_node(int node) {
  const MemDfaNodeBuffers& nb = plan_.nodes[node];
  BackwardArgs args;
  const Tensor* input = node == 0 ? &tensors_[plan_.input] : buffer(plan_.nodes[node - 1].output2);
  args.inputs.push_back(nb.keeps.inputs.at(0) ? input : nullptr);
  args.output = nb.keeps.output ? buffer(nb.output2) : nullptr;
  for (int32_t id : nb.aux2) args.aux.push_back(nb.keeps.aux.empty() ? nullptr : buffer(id));
  args.network_output_grad = &tensors_[plan_.error];
  args.grad_output = modes_[node]->role() == DfaRole::Output ? &tensors_[plan_.error] : buffer(nb.output_grad);
  args.grad_inputs.push_back(buffer(nb.input_grad_target));
  args.workspace = nb.backward_workspace == kNoBuffer ? nullptr : static_cast<float*>(tensors_[nb.backward_workspace].raw());
  modes_[node]->backward(graph_.layer(node), args, {});
}

StepResult MemDfaRunner::train_step(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed,
                                    const LayerUpdate& update) {
  prepare(images.dim(0));
  for (DfaMode* m : modes_) m->begin_step(static_cast<int64_t>(step));
  const int L = graph_.size();

  enter(plan_.t_data);
  Tensor& in = tensors_[plan_.input];
  Tensor& lab = tensors_[plan_.labels];
  if (images.shape() != in.shape() || labels.shape() != lab.shape() || labels.dtype() != DType::I32)
    throw ShapeError("batch of images " + images.shape().str() + " and labels " + labels.shape().str() +
                     " does not match the model input " + in.shape().str());
  in.copy_from(images);
  lab.copy_from(labels);
  leave(plan_.t_data);

  for (int i = 0; i < L; ++i) {
    enter(plan_.nodes[i].t_forward);
    forward_node(i, false, step, seed);
    leave(plan_.nodes[i].t_forward);
  }

  enter(plan_.t_loss);
  const Tensor& logits = tensors_[plan_.nodes[L - 1].output1];
  StepResult r;
  r.samples = labels.dim(0);
  r.loss = loss_.forward(logits, lab, tensors_[plan_.probs]);
  r.correct = SoftmaxCrossEntropy::count_correct(logits, lab);
  loss_.backward(tensors_[plan_.probs], lab, tensors_[plan_.error]);
  leave(plan_.t_loss);

  for (auto [first, last] : plan_.blocks) {
    for (int i = first; i <= last; ++i)
      if (plan_.nodes[i].t_recompute != kNoTime) {
        enter(plan_.nodes[i].t_recompute);
        forward_node(i, true, step, seed);
        leave(plan_.nodes[i].t_recompute);
      }
    for (int i = last; i >= first; --i)
      if (plan_.nodes[i].t_backward != kNoTime) {
        enter(plan_.nodes[i].t_backward);
        backward_node(i);
        leave(plan_.nodes[i].t_backward);
      }
    const int32_t t = plan_.nodes[first].t_update;
    enter(t);
    if (update)
      for (int i = first; i <= last; ++i) update(i);
    leave(t);
  }
  return r;
}

}  // namespace frugal
