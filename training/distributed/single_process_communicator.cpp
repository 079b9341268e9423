#include "training/distributed/single_process_communicator.h"

#include <cstdlib>
#include <cstring>

#include "ops/kernels.h"

namespace frugal {

void SingleProcessCommunicator::all_gather(const void* send, void* recv, size_t bytes_per_rank, const std::string&) {
  if (send != recv) std::memcpy(recv, send, bytes_per_rank);
}

void SingleProcessCommunicator::gather(const void* send, void* recv, size_t bytes_per_rank, int, const std::string&) {
  if (recv && send != recv) std::memcpy(recv, send, bytes_per_rank);
}

uint64_t SingleProcessCommunicator::queue(BucketOp op) {
  if (op.kind == BucketOp::Kind::AllGather) return ++tickets_;
  // The same two roundings as a reduction over several ranks: the contribution, then the sum.
  const Kernels& k = kernels_for(device_);
  float* out = op.kind == BucketOp::Kind::ReduceScatter ? op.result : op.data;
  if (out != op.data) k.copy(op.chunk, op.data, out);
  if (op.pre_scale != 1.0f) k.scale(op.chunk, op.pre_scale, out, out);
  if (op.post_scale != 1.0f) k.scale(op.chunk, op.post_scale, out, out);
  return ++tickets_;
}

void SingleProcessCommunicator::abort(int code) { std::_Exit(code); }

}  // namespace frugal
