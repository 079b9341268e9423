#include "training/step_plan.h"

#include <algorithm>

#include "core/error.h"
#include "training/relu_folding.h"

namespace frugal {
namespace {

class PlanBuilder {
 public:
  explicit PlanBuilder(StepPlan& plan) : plan_(plan) {}

  int32_t add(const std::string& owner, const std::string& layer, const Shape& shape, DType dtype,
              MemoryCategory category, int32_t first, int32_t last) {
    size_t bytes = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
    if (bytes == 0) return kNoBuffer;
    auto id = static_cast<int32_t>(plan_.step.buffers.size());
    plan_.step.buffers.push_back({id, bytes, category, first, last, owner, layer});
    plan_.shapes.push_back(shape);
    plan_.dtypes.push_back(dtype);
    return id;
  }
  BufferSpec& spec(int32_t id) { return plan_.step.buffers[id]; }

 private:
  StepPlan& plan_;
};

// `folds`: per node, the ReLU folded into it or -1 (training/relu_folding.h).
StepPlan build_plan(Graph& graph, const std::vector<std::unique_ptr<BackwardMode>>& modes, int64_t batch,
                    int64_t num_classes, bool training, const std::vector<int>& folds) {
  StepPlan plan;
  plan.training = training;
  plan.batch = batch;
  const int L = graph.size();
  plan.nodes.resize(L);
  plan.time_data = 0;
  plan.time_loss = L + 1;
  plan.time_optimizer = training ? 2 * L + 2 : L + 1;

  auto& sched = plan.step.schedule;
  sched.push_back({"batch", "data"});
  for (int i = 0; i < L; ++i) sched.push_back({graph.layer(i).name(), "forward"});
  sched.push_back({"loss", "forward"});
  if (training) {
    for (int i = L - 1; i >= 0; --i) sched.push_back({graph.layer(i).name(), "backward"});
    sched.push_back({"update", "optimizer"});
  }

  // What each node keeps for its backward, and who consumes each value.
  for (int i = 0; i < L; ++i) {
    if (training) {
      plan.nodes[i].keeps = modes.at(i)->keeps(graph.layer(i));
      plan.nodes[i].keeps.inputs.resize(graph.node(i).inputs.size(), false);
    } else {
      plan.nodes[i].keeps = SavedNeeds{std::vector<bool>(graph.node(i).inputs.size(), false), false, {}};
    }
  }
  for (int i = 0; i < L; ++i)
    if (folds[i] >= 0) {
      plan.nodes[i].folds = folds[i];
      plan.nodes[folds[i]].folded_into = i;
      plan.nodes[folds[i]].keeps = SavedNeeds{{false}, false, {}};  // the pair's backward is the producer's
    }
  // A folded ReLU's output, read again by its producer's backward.
  auto read_by_fold = [&](int value) {
    if (!training || value == Graph::kInput || plan.nodes[value].folded_into < 0) return false;
    return dynamic_cast<const ReluFoldable&>(*graph.node(plan.nodes[value].folded_into).layer)
        .backward_relu_reads_output();
  };
  // Last time a value (kInput or a node id) is read.
  auto value_last_use = [&](int value) {
    int32_t last = value == Graph::kInput ? 0 : plan.forward_time(value);
    for (int c : graph.consumers(value)) {
      last = std::max(last, plan.forward_time(c));
      const auto& in = graph.node(c).inputs;
      for (size_t k = 0; k < in.size(); ++k)
        if (in[k] == value && plan.nodes[c].keeps.inputs[k]) last = std::max(last, plan.backward_time(c));
    }
    if (value != Graph::kInput && plan.nodes[value].keeps.output)
      last = std::max(last, plan.backward_time(value));
    if (value == graph.output()) last = std::max(last, plan.time_loss);
    if (read_by_fold(value)) last = std::max(last, plan.backward_time(plan.nodes[value].folded_into));
    return last;
  };
  auto value_kept = [&](int value) {
    for (int c : graph.consumers(value)) {
      const auto& in = graph.node(c).inputs;
      for (size_t k = 0; k < in.size(); ++k)
        if (in[k] == value && plan.nodes[c].keeps.inputs[k]) return true;
    }
    return value != Graph::kInput && (plan.nodes[value].keeps.output || read_by_fold(value));
  };

  PlanBuilder b(plan);
  const Shape& in_shape = graph.input_shape();
  plan.input = b.add("input", "", in_shape, DType::F32, MemoryCategory::Data, 0,
                     value_last_use(Graph::kInput));
  plan.labels = b.add("labels", "", {batch}, DType::I32, MemoryCategory::Data, 0, plan.time_loss);

  for (int i = 0; i < L; ++i) {
    Layer& layer = graph.layer(i);
    NodeBuffers& nb = plan.nodes[i];
    const std::string& name = layer.name();
    const int32_t tf = plan.forward_time(i);
    if (nb.folds < 0)  // a folded ReLU's output is written by its producer's forward
      nb.output = b.add(name + "/output", name, layer.output_shape(), DType::F32,
                        value_kept(i) ? MemoryCategory::Stash : MemoryCategory::Activations,
                        nb.folded_into >= 0 ? plan.forward_time(nb.folded_into) : tf, value_last_use(i));
    const bool keep_aux = training && !nb.keeps.aux.empty();
    if (training)  // the forward of a training step writes its aux even when the mode drops it
      for (const AuxSpec& a : layer.saved_needs().aux)
        nb.aux.push_back(b.add(name + "/" + a.name, name, a.shape, a.dtype,
                               keep_aux ? MemoryCategory::Stash : MemoryCategory::Workspace, tf,
                               keep_aux ? plan.backward_time(i) : tf));
    nb.forward_workspace = b.add(name + "/forward_workspace", name,
                                 {static_cast<int64_t>(layer.forward_workspace_bytes())}, DType::U8,
                                 MemoryCategory::Workspace, tf, tf);
    if (!training || nb.folded_into >= 0) continue;
    BackwardMode& mode = *modes[i];
    const int32_t tb = plan.backward_time(i);
    for (const StashSpec& s : mode.stash_specs(layer))
      nb.stash.push_back(b.add(name + "/" + s.name, name, s.shape, s.dtype, MemoryCategory::Stash, tf, tb));
    nb.backward_workspace = b.add(name + "/backward_workspace", name,
                                  {static_cast<int64_t>(mode.backward_workspace_bytes(layer))}, DType::U8,
                                  MemoryCategory::Workspace, tb, tb);
  }
  plan.probs = b.add("loss/probs", "", {batch, num_classes}, DType::F32, MemoryCategory::Stash,
                     plan.time_loss, plan.time_loss);
  if (!training) return plan;

  // A node whose backward runs in place (an activation, or a folded pair) writes the gradient of an
  // input that only it reads over its output's gradient, which nothing reads afterwards: the two share
  // one buffer. Not the network output's gradient, which DFA-style modes read late.
  std::vector<int> grad_shared_with(L, -1);  // per node: the node whose output gradient buffer it takes
  for (int i = 0; i < L; ++i) {
    const NodeBuffers& nb = plan.nodes[i];
    const int donor = nb.folds >= 0 ? nb.folds : i;
    const bool in_place = nb.folds >= 0 || (nb.folded_into < 0 && modes[i]->backward_in_place(graph.layer(i)));
    if (!in_place || donor == graph.output()) continue;
    const auto& ins = graph.node(i).inputs;
    for (int v : ins)
      if (v != Graph::kInput && graph.consumers(v) == std::vector<int>{i} &&
          std::count(ins.begin(), ins.end(), v) == 1) {
        grad_shared_with[v] = donor;
        break;
      }
  }
  // Gradients of values: written first by the consumer whose backward runs first (the highest node
  // id), alive until the producer's backward.
  auto grad_last_use = [&](int value) {
    return plan.backward_time(plan.nodes[value].folded_into >= 0 ? plan.nodes[value].folded_into : value);
  };
  for (int i = 0; i < L; ++i) {
    Layer& layer = graph.layer(i);
    auto consumers = graph.consumers(i);
    if (consumers.empty() && i != graph.output()) continue;  // a dead end: no gradient flows
    if (plan.nodes[i].folds >= 0) continue;                  // the folded pair's backward reads the ReLU's
    if (grad_shared_with[i] >= 0) continue;                  // below, once the donor's exists
    int32_t first = i == graph.output() ? plan.time_loss : plan.backward_time(consumers.back());
    int32_t last = grad_last_use(i);
    if (i == graph.output())  // modes that send the output error to hidden layers read it late
      for (int j = 0; j < L; ++j)
        if (modes[j]->reads_network_output_grad()) last = std::max(last, plan.backward_time(j));
    plan.nodes[i].output_grad = b.add(layer.name() + "/grad", layer.name(), layer.output_shape(),
                                      DType::F32, MemoryCategory::Activations, first, last);
  }
  for (int i = L - 1; i >= 0; --i)  // donors first: a donor may itself take a later node's buffer
    if (grad_shared_with[i] >= 0) {
      const int32_t id = plan.nodes[grad_shared_with[i]].output_grad;
      plan.nodes[i].output_grad = id;
      if (id != kNoBuffer) b.spec(id).last_use = std::max(b.spec(id).last_use, grad_last_use(i));
    }
  for (int i = 0; i < L; ++i) {
    NodeBuffers& nb = plan.nodes[i];
    Layer& layer = graph.layer(i);
    const auto& ins = graph.node(i).inputs;
    const int32_t tb = plan.backward_time(i);
    if (nb.folded_into >= 0) {  // no backward of its own
      nb.input_grad_target.assign(ins.size(), kNoBuffer);
      nb.input_grad_is_scratch.assign(ins.size(), false);
      continue;
    }
    for (size_t k = 0; k < ins.size(); ++k) {
      int v = ins[k];
      bool scratch;
      int32_t target;
      if (v == Graph::kInput) {
        // Nobody needs the input gradient; weighted layers skip it, others write to scratch.
        scratch = true;
        target = dynamic_cast<WeightedLayer*>(&layer)
                     ? kNoBuffer
                     : b.add(layer.name() + "/input_grad_scratch", layer.name(), in_shape, DType::F32,
                             MemoryCategory::Workspace, tb, tb);
      } else if (graph.consumers(v).back() == i && k == static_cast<size_t>(
                     std::find(ins.begin(), ins.end(), v) - ins.begin())) {
        scratch = false;
        target = plan.nodes[v].output_grad;
      } else {
        scratch = true;
        target = b.add(layer.name() + "/grad_scratch" + std::to_string(k), layer.name(),
                       graph.layer(v).output_shape(), DType::F32, MemoryCategory::Workspace, tb, tb);
      }
      nb.input_grad_target.push_back(target);
      nb.input_grad_is_scratch.push_back(scratch && v != Graph::kInput);
    }
  }
  plan.step.validate();
  return plan;
}

}  // namespace

StepPlan build_step_plan(Graph& graph, const std::vector<std::unique_ptr<BackwardMode>>& modes,
                         int64_t batch, int64_t num_classes, bool training, bool fold_relus) {
  const std::vector<int> none(graph.size(), -1);
  if (!fold_relus) return build_plan(graph, modes, batch, num_classes, training, none);
  StepPlan folded = build_plan(graph, modes, batch, num_classes, training, find_relu_folds(graph, modes, training));
  StepPlan unfolded = build_plan(graph, modes, batch, num_classes, training, none);
  // Folding saves passes, and usually buffers too; where it would need more memory at the step's
  // busiest moment (an Add with no input of its own to write in place), the step runs unfolded.
  return lower_bound_bytes(folded.step) <= lower_bound_bytes(unfolded.step) ? std::move(folded)
                                                                             : std::move(unfolded);
}

}  // namespace frugal
