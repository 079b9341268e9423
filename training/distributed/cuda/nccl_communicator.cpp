#include "training/distributed/cuda/nccl_communicator.h"

#include <chrono>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "ops/cuda/cuda_context.h"
#include "ops/kernels.h"

namespace frugal {
namespace {

void check_nccl(ncclResult_t status, const char* call) {
  if (status != ncclSuccess) throw Error(std::string(call) + " failed: " + ncclGetErrorString(status));
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

NcclCommunicator::NcclCommunicator(std::unique_ptr<MpiCommunicator> control) : control_(std::move(control)) {
  kernels_for(Device::CUDA);  // starts the CUDA backend (its device, its compute stream)
  ncclUniqueId id;
  if (control_->rank() == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
  control_->broadcast(&id, sizeof id, 0, "NCCL set-up (unique id)");
  check_nccl(ncclCommInitRank(&comm_, control_->size(), id, control_->rank()), "ncclCommInitRank");
  cuda::check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate (NCCL)");
  cuda::check(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming), "cudaEventCreate");
  int version = 0;
  ncclGetVersion(&version);
  describe_ = "NCCL " + std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) +
              " for gradients, " + control_->describe() + " for the rest";
}

NcclCommunicator::~NcclCommunicator() {
  try {
    wait_queue();
  } catch (const std::exception& e) {
    log().error("rank {}: {}", rank(), e.what());
  }
  for (Queued& q : pending_) spare_.push_back(q.done);
  for (cudaEvent_t e : spare_) cudaEventDestroy(e);
  if (ready_) cudaEventDestroy(ready_);
  if (comm_) ncclCommDestroy(comm_);
  if (stream_) cudaStreamDestroy(stream_);
}

uint64_t NcclCommunicator::queue(BucketOp op) {
  const int n = size();
  const size_t chunk = static_cast<size_t>(op.chunk);
  float* mine = op.data + static_cast<int64_t>(rank()) * op.chunk;
  const Kernels& k = kernels_for(Device::CUDA);
  // The contribution's scale runs on the compute stream, then the gradient stream waits for everything
  // queued there so far (the backward of this bucket's layers).
  if (op.kind != BucketOp::Kind::AllGather && op.pre_scale != 1.0f)
    k.scale(op.chunk * n, op.pre_scale, op.data, op.data);
  if (op.kind != BucketOp::Kind::AllGather && op.post_scale != 1.0f / static_cast<float>(n))
    throw InternalError("NCCL gradient channel: post_scale must be 1/N (NCCL's average), got " +
                        std::to_string(op.post_scale));
  cuda::check(cudaEventRecord(ready_, cuda::compute_stream()), "cudaEventRecord");
  cuda::check(cudaStreamWaitEvent(stream_, ready_, 0), "cudaStreamWaitEvent");
  switch (op.kind) {
    case BucketOp::Kind::AllReduce:
      check_nccl(ncclReduceScatter(op.data, mine, chunk, ncclFloat, ncclAvg, comm_, stream_), "ncclReduceScatter");
      check_nccl(ncclAllGather(mine, op.data, chunk, ncclFloat, comm_, stream_), "ncclAllGather");
      break;
    case BucketOp::Kind::ReduceScatter:
      check_nccl(ncclReduceScatter(op.data, op.result, chunk, ncclFloat, ncclAvg, comm_, stream_), "ncclReduceScatter");
      break;
    case BucketOp::Kind::AllGather:
      check_nccl(ncclAllGather(mine, op.data, chunk, ncclFloat, comm_, stream_), "ncclAllGather");
      break;
  }
  Queued q{++queued_, nullptr, std::move(op.what)};
  if (spare_.empty()) {
    cuda::check(cudaEventCreateWithFlags(&q.done, cudaEventDisableTiming), "cudaEventCreate");
  } else {
    q.done = spare_.back();
    spare_.pop_back();
  }
  cuda::check(cudaEventRecord(q.done, stream_), "cudaEventRecord");
  pending_.push_back(std::move(q));
  return queued_;
}

void NcclCommunicator::wait_for(uint64_t ticket) {
  if (pending_.empty() || ticket < pending_.front().ticket) return;  // waited for already
  Queued& q = pending_.at(static_cast<size_t>(ticket - pending_.front().ticket));
  // Poll on the host so that a peer that died or hangs ends the job after the timeout: NCCL itself
  // would wait forever.
  const double deadline = now_seconds() + control_->timeout_s();
  for (;;) {
    const cudaError_t status = cudaEventQuery(q.done);
    if (status == cudaSuccess) break;
    if (status != cudaErrorNotReady) cuda::check(status, "cudaEventQuery (NCCL)");
    ncclResult_t async = ncclSuccess;
    ncclCommGetAsyncError(comm_, &async);
    if (async != ncclSuccess && async != ncclInProgress) {
      ncclCommAbort(comm_);
      comm_ = nullptr;
      throw Error("NCCL failed in " + q.what + ": " + ncclGetErrorString(async));
    }
    if (now_seconds() > deadline) {
      ncclCommAbort(comm_);
      comm_ = nullptr;
      control_->fail_waiting(q.what);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  // Later kernels on the compute stream read (or overwrite) the results. The ops before it ran on the
  // same stream, so they are done too.
  cuda::check(cudaStreamWaitEvent(cuda::compute_stream(), q.done, 0), "cudaStreamWaitEvent");
  while (!pending_.empty() && pending_.front().ticket <= ticket) {
    spare_.push_back(pending_.front().done);
    pending_.pop_front();
  }
}

void NcclCommunicator::abort(int code) {
  if (comm_) ncclCommAbort(comm_);
  comm_ = nullptr;
  control_->abort(code);
}

}  // namespace frugal

// The CUDA backend module's entry point behind connect_job (training/distributed/connect.cpp): takes
// `control` over, even when it throws.
extern "C" frugal::Communicator* frugal_cuda_nccl_communicator(frugal::MpiCommunicator* control) {
  return new frugal::NcclCommunicator(std::unique_ptr<frugal::MpiCommunicator>(control));
}
