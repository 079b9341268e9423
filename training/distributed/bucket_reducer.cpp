#include "training/distributed/bucket_reducer.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"

namespace frugal {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

void BucketReducer::begin_step(int64_t local, int64_t global, uint64_t step) {
  const int n = dp_.size();
  if (local <= 0 || global < local)
    throw InternalError("data parallel step with " + std::to_string(local) + " of " + std::to_string(global) +
                        " samples");
  // Each rank's gradient is the mean over its own samples; the step's is the mean over all of them, so
  // rank r weighs in by local_r / global: the plain 1/N (post_scale) when every rank has the same count.
  pre_scale_ = global == local * n ? 1.0f : static_cast<float>(static_cast<double>(local) * n / global);
  step_ = step;
  std::fill(tickets_.begin(), tickets_.end(), 0);
  step_start_ = now_seconds();
  backward_end_ = 0;
  waited_ = 0;
  if (!flat_.buckets().empty()) flat_.clear_slot(0);
}

void BucketReducer::bucket_ready(int b) {
  const int n = dp_.size();
  const int nb = static_cast<int>(flat_.buckets().size());
  BucketOp op;
  op.kind = flat_.shard_gradients() ? BucketOp::Kind::ReduceScatter : BucketOp::Kind::AllReduce;
  op.data = flat_.bucket_gradients(b).device_f32();
  if (flat_.shard_gradients()) op.result = flat_.shard_gradients_of(b).device_f32();
  op.chunk = flat_.chunk(b);
  op.pre_scale = pre_scale_;
  op.post_scale = 1.0f / static_cast<float>(n);
  op.what = "gradient bucket " + std::to_string(b + 1) + "/" + std::to_string(nb) + " of step " +
            std::to_string(step_ + 1);
  tickets_[static_cast<size_t>(b)] = dp_.comm().queue(std::move(op));
  const int k = flat_.slots();
  if (k > 0 && b + 1 < nb) {
    if (b + 1 - k >= 0) wait(b + 1 - k);  // the slot's previous user
    flat_.clear_slot(b + 1);
  }
}

void BucketReducer::wait(int b) {
  const uint64_t ticket = tickets_.at(static_cast<size_t>(b));
  if (ticket == 0) throw InternalError("bucket " + std::to_string(b) + " waited for before it was queued");
  const double t = now_seconds();
  dp_.comm().wait_for(ticket);
  waited_ += now_seconds() - t;
}

void BucketReducer::wait_all() {
  const double t = now_seconds();
  dp_.comm().wait_queue();
  waited_ += now_seconds() - t;
}

void BucketReducer::gather_weights(int b) {
  BucketOp op;
  op.kind = BucketOp::Kind::AllGather;
  op.data = flat_.bucket_weights(b).device_f32();
  op.chunk = flat_.chunk(b);
  op.what = "weight all-gather of bucket " + std::to_string(b + 1) + "/" + std::to_string(flat_.buckets().size()) +
            " of step " + std::to_string(step_ + 1);
  dp_.comm().queue(std::move(op));
}

void BucketReducer::backward_done() { backward_end_ = now_seconds(); }

void BucketReducer::finish_step() {
  wait_all();
  CommunicationStats& s = dp_.stats();
  const double end_of_backward = backward_end_ > 0 ? backward_end_ : now_seconds();
  for (const auto& [start, end] : dp_.comm().take_busy_intervals()) {
    s.busy_seconds += end - start;
    s.overlapped_seconds += std::max(0.0, std::min(end, end_of_backward) - std::max(start, step_start_));
  }
  s.waited_seconds += waited_;
  ++s.steps;
}

}  // namespace frugal
