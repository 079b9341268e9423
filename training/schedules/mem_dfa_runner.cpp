#include "training/schedules/mem_dfa_runner.h"

#include "core/error.h"
#include "training/conv_algorithms.h"

namespace frugal {

MemDfaRunner::MemDfaRunner(Executor& executor, const std::string& planner_name, int64_t num_classes,
                           float label_smoothing)
    : graph_(executor.graph()),
      num_classes_(num_classes),
      loss_(label_smoothing),
      runtime_(planner_name, executor.graph().device()) {
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
  if (runtime_.reserved() && plan_.batch == batch) return;
  fit_winograd_to_memory(graph_, [&] {
    return lower_bound_bytes(build_mem_dfa_plan(graph_, modes_, batch, num_classes_).step);
  });
  plan_ = build_mem_dfa_plan(graph_, modes_, batch, num_classes_);
  runtime_.reserve(plan_.step, plan_.shapes, plan_.dtypes);
}

const MemDfaPlan& MemDfaRunner::plan(int64_t batch) {
  prepare(batch);
  return plan_;
}

void MemDfaRunner::forward_node(int node, bool recompute, uint64_t step, uint64_t seed) {
  const MemDfaNodeBuffers& nb = plan_.nodes[node];
  StepRuntime& rt = runtime_;
  ForwardArgs args;
  if (node == 0) args.inputs.push_back(&rt.tensor(plan_.input));
  else args.inputs.push_back(rt.buffer(recompute ? plan_.nodes[node - 1].output2 : plan_.nodes[node - 1].output1));
  args.output = rt.buffer(recompute ? nb.output2 : nb.output1);
  for (int32_t id : recompute ? nb.aux2 : nb.aux1) args.aux.push_back(rt.buffer(id));
  args.workspace = rt.workspace(recompute ? nb.forward_workspace2 : nb.forward_workspace1);
  args.training = true;
  args.update_running_stats = !recompute;  // BN statistics move once per step, as in dfa
  args.rng = dropout_key(seed, node, step);  // the executor's, so both passes (and dfa) draw the same masks
  graph_.layer(node).forward(args);
}

void MemDfaRunner::backward_node(int node) {
  const MemDfaNodeBuffers& nb = plan_.nodes[node];
  StepRuntime& rt = runtime_;
  BackwardArgs args;
  const Tensor* input = node == 0 ? &rt.tensor(plan_.input) : rt.buffer(plan_.nodes[node - 1].output2);
  args.inputs.push_back(nb.keeps.inputs.at(0) ? input : nullptr);
  args.output = nb.keeps.output ? rt.buffer(nb.output2) : nullptr;
  for (int32_t id : nb.aux2) args.aux.push_back(nb.keeps.aux.empty() ? nullptr : rt.buffer(id));
  args.network_output_grad = &rt.tensor(plan_.error);
  args.grad_output = modes_[node]->role() == DfaRole::Output ? &rt.tensor(plan_.error) : rt.buffer(nb.output_grad);
  args.grad_inputs.push_back(rt.buffer(nb.input_grad_target));
  args.workspace = rt.workspace(nb.backward_workspace);
  modes_[node]->backward(graph_.layer(node), args, {});
}

StepResult MemDfaRunner::train_step(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed,
                                    const LayerUpdate& update) {
  prepare(images.dim(0));
  for (DfaMode* m : modes_) m->begin_step(static_cast<int64_t>(step));
  const int L = graph_.size();
  StepRuntime& rt = runtime_;
  rt.begin_step();

  rt.enter(plan_.t_data);
  Tensor& in = rt.tensor(plan_.input);
  Tensor& lab = rt.tensor(plan_.labels);
  if (images.shape() != in.shape() || labels.shape() != lab.shape() || labels.dtype() != DType::I32)
    throw ShapeError("batch of images " + images.shape().str() + " and labels " + labels.shape().str() +
                     " does not match the model input " + in.shape().str());
  in.copy_from(images);
  lab.copy_from(labels);
  rt.leave(plan_.t_data);

  for (int i = 0; i < L; ++i) {
    rt.enter(plan_.nodes[i].t_forward);
    forward_node(i, false, step, seed);
    rt.leave(plan_.nodes[i].t_forward);
  }

  rt.enter(plan_.t_loss);
  const Tensor& logits = rt.tensor(plan_.nodes[L - 1].output1);
  StepResult r;
  r.samples = labels.dim(0);
  r.loss = loss_.forward(logits, lab, rt.tensor(plan_.probs));
  r.correct = SoftmaxCrossEntropy::count_correct(logits, lab);
  loss_.backward(rt.tensor(plan_.probs), lab, rt.tensor(plan_.error));
  rt.leave(plan_.t_loss);

  for (auto [first, last] : plan_.blocks) {
    for (int i = first; i <= last; ++i)
      if (plan_.nodes[i].t_recompute != kNoTime) {
        rt.enter(plan_.nodes[i].t_recompute);
        forward_node(i, true, step, seed);
        rt.leave(plan_.nodes[i].t_recompute);
      }
    for (int i = last; i >= first; --i)
      if (plan_.nodes[i].t_backward != kNoTime) {
        rt.enter(plan_.nodes[i].t_backward);
        backward_node(i);
        rt.leave(plan_.nodes[i].t_backward);
      }
    const int32_t t = plan_.nodes[first].t_update;
    rt.enter(t);
    if (update)
      for (int i = first; i <= last; ++i) update(i);
    rt.leave(t);
  }
  return r;
}

}  // namespace frugal
