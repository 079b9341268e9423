#include "training/schedules/mem_dfa_plan.h"

#include <algorithm>

namespace frugal {
namespace {

class Builder {
 public:
  explicit Builder(MemDfaPlan& plan) : plan_(plan) {}

  int32_t time(const std::string& label, const std::string& phase) {
    plan_.step.schedule.push_back({label, phase});
    return plan_.step.num_times() - 1;
  }
  int32_t buffer(const std::string& owner, const std::string& layer, const Shape& shape, DType dtype,
                 MemoryCategory category, int32_t first, int32_t last) {
    const size_t bytes = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
    if (bytes == 0) return kNoBuffer;
    auto id = static_cast<int32_t>(plan_.step.buffers.size());
    plan_.step.buffers.push_back({id, bytes, category, first, last, owner, layer});
    plan_.shapes.push_back(shape);
    plan_.dtypes.push_back(dtype);
    return id;
  }
  int32_t workspace(const std::string& owner, const std::string& layer, size_t bytes, int32_t t) {
    return buffer(owner, layer, {static_cast<int64_t>(bytes)}, DType::U8, MemoryCategory::Workspace, t, t);
  }

 private:
  MemDfaPlan& plan_;
};

}  // namespace

MemDfaPlan build_mem_dfa_plan(Graph& graph, const std::vector<DfaMode*>& modes, int64_t batch, int64_t num_classes) {
  MemDfaPlan plan;
  plan.batch = batch;
  const int L = graph.size();
  plan.nodes.resize(L);
  Builder b(plan);
  auto role = [&](int i) { return modes[i]->role(); };
  auto name = [&](int i) { return graph.layer(i).name(); };
  for (int i = 0; i < L; ++i) plan.nodes[i].keeps = modes[i]->keeps(graph.layer(i));

  // Blocks end at injection points and at the classifier.
  for (int first = 0, i = 0; i < L; ++i)
    if (role(i) == DfaRole::Injection || i == L - 1) {
      plan.blocks.push_back({first, i});
      first = i + 1;
    }
  // A node is recomputed when its pass-2 output is read: by its own backward, or by the next node's
  // recompute or backward.
  std::vector<bool> recompute(L, false);
  for (int i = L - 1; i >= 0; --i)
    recompute[i] = plan.nodes[i].keeps.output ||
                   (i + 1 < L && (recompute[i + 1] || plan.nodes[i + 1].keeps.inputs.at(0)));

  // Times.
  plan.t_data = b.time("batch", "data");
  for (int i = 0; i < L; ++i) plan.nodes[i].t_forward = b.time(name(i), "forward");
  plan.t_loss = b.time("loss", "forward");
  for (size_t k = 0; k < plan.blocks.size(); ++k) {
    auto [first, last] = plan.blocks[k];
    for (int i = first; i <= last; ++i)
      if (recompute[i]) plan.nodes[i].t_recompute = b.time(name(i), "recompute");
    for (int i = last; i >= first; --i)
      if (role(i) != DfaRole::Idle) plan.nodes[i].t_backward = b.time(name(i), "backward");
    const int32_t t_update = b.time("block " + std::to_string(k) + " update", "optimizer");
    for (int i = first; i <= last; ++i) plan.nodes[i].t_update = t_update;
  }

  // Data, labels, loss.
  auto& n0 = plan.nodes[0];
  int32_t input_last = n0.t_forward;
  if (recompute[0]) input_last = std::max(input_last, n0.t_recompute);
  if (n0.keeps.inputs.at(0) && n0.t_backward != kNoTime) input_last = std::max(input_last, n0.t_backward);
  plan.input = b.buffer("input", "", graph.input_shape(), DType::F32, MemoryCategory::Data, plan.t_data, input_last);
  plan.labels = b.buffer("labels", "", {batch}, DType::I32, MemoryCategory::Data, plan.t_data, plan.t_loss);
  plan.probs = b.buffer("loss/probs", "", {batch, num_classes}, DType::F32, MemoryCategory::Stash, plan.t_loss,
                        plan.t_loss);
  int32_t error_last = plan.t_loss;
  for (int i = 0; i < L; ++i)
    if (role(i) == DfaRole::Injection || role(i) == DfaRole::Output)
      error_last = std::max(error_last, plan.nodes[i].t_backward);
  plan.error = b.buffer("loss/output_error", "", {batch, num_classes}, DType::F32, MemoryCategory::Stash, plan.t_loss,
                        error_last);

  for (int i = 0; i < L; ++i) {
    Layer& layer = graph.layer(i);
    MemDfaNodeBuffers& nb = plan.nodes[i];
    const std::string& n = layer.name();
    // Pass 1: each value lives until the next node (or the loss) has read it.
    const int32_t read1 = i + 1 < L ? plan.nodes[i + 1].t_forward : plan.t_loss;
    nb.output1 = b.buffer(n + "/output", n, layer.output_shape(), DType::F32, MemoryCategory::Activations,
                          nb.t_forward, read1);
    for (const AuxSpec& a : layer.saved_needs().aux)  // a training forward writes its aux (dropout mask)
      nb.aux1.push_back(b.buffer(n + "/" + a.name, n, a.shape, a.dtype, MemoryCategory::Workspace, nb.t_forward,
                                 nb.t_forward));
    nb.forward_workspace1 = b.workspace(n + "/forward_workspace", n, layer.forward_workspace_bytes(), nb.t_forward);
    if (!recompute[i]) continue;
    // Pass 2.
    int32_t last = nb.t_recompute;
    bool kept = false;
    if (nb.keeps.output) {
      last = std::max(last, nb.t_backward);
      kept = true;
    }
    if (i + 1 < L) {
      const auto& next = plan.nodes[i + 1];
      if (recompute[i + 1]) last = std::max(last, next.t_recompute);
      if (next.keeps.inputs.at(0)) {
        last = std::max(last, next.t_backward);
        kept = true;
      }
    }
    nb.output2 = b.buffer(n + "/recomputed_output", n, layer.output_shape(), DType::F32,
                          kept ? MemoryCategory::Stash : MemoryCategory::Activations, nb.t_recompute, last);
    const bool keep_aux = !nb.keeps.aux.empty() && nb.t_backward != kNoTime;
    for (const AuxSpec& a : layer.saved_needs().aux)
      nb.aux2.push_back(b.buffer(n + "/recomputed_" + a.name, n, a.shape, a.dtype,
                                 keep_aux ? MemoryCategory::Stash : MemoryCategory::Workspace, nb.t_recompute,
                                 keep_aux ? nb.t_backward : nb.t_recompute));
    nb.forward_workspace2 = b.workspace(n + "/recompute_workspace", n, layer.forward_workspace_bytes(), nb.t_recompute);
  }

  // Pass-2 gradients inside blocks: written by the next node's backward, read by this node's.
  for (int i = 0; i < L; ++i)
    if (role(i) == DfaRole::Local && i + 1 < L)
      plan.nodes[i].output_grad = b.buffer(name(i) + "/grad", name(i), graph.layer(i).output_shape(), DType::F32,
                                           MemoryCategory::Activations, plan.nodes[i + 1].t_backward,
                                           plan.nodes[i].t_backward);
  for (int i = 0; i < L; ++i) {
    MemDfaNodeBuffers& nb = plan.nodes[i];
    if (nb.t_backward == kNoTime) continue;
    Layer& layer = graph.layer(i);
    if (modes[i]->node_plan().input_grad_needed.at(0)) {
      nb.input_grad_target = plan.nodes[i - 1].output_grad;
    } else if (!dynamic_cast<WeightedLayer*>(&layer)) {
      // A non-weighted layer's backward writes its input gradient anyway: give it somewhere to go.
      const Shape& in = i == 0 ? graph.input_shape() : graph.layer(i - 1).output_shape();
      nb.input_grad_target = b.buffer(name(i) + "/input_grad_scratch", name(i), in, DType::F32,
                                      MemoryCategory::Workspace, nb.t_backward, nb.t_backward);
    }
    nb.backward_workspace =
        b.workspace(name(i) + "/backward_workspace", name(i), modes[i]->backward_workspace_bytes(layer), nb.t_backward);
  }
  plan.step.validate();
  return plan;
}

}  // namespace frugal
