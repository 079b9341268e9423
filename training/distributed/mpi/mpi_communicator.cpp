#include "training/distributed/mpi/mpi_communicator.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/log.h"
#include "ops/kernels.h"

namespace frugal {
namespace {

constexpr int kQueryTag = 1, kReplyTag = 2;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// MPI counts are ints.
int count_of(int64_t n, const std::string& what) {
  if (n < 0 || n > INT_MAX)
    throw InternalError("MPI collective '" + what + "': " + std::to_string(n) + " elements do not fit an MPI count");
  return static_cast<int>(n);
}

void check(int status, const char* call) {
  if (status != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(status, text, &len);
    throw Error(std::string(call) + " failed: " + std::string(text, static_cast<size_t>(len)));
  }
}

std::string format_seconds(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", s);
  return text;
}

std::string host_name() {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

}  // namespace

MpiCommunicator::MpiCommunicator(double timeout_s) : timeout_s_(timeout_s) {
  int provided = 0;
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
  if (provided < MPI_THREAD_SERIALIZED) {
    log().error("this MPI library offers thread level {} but frugal needs MPI_THREAD_SERIALIZED ({})", provided,
                MPI_THREAD_SERIALIZED);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  // Errors come back as codes (turned into exceptions) rather than aborting inside MPI.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  check(MPI_Comm_dup(MPI_COMM_WORLD, &control_), "MPI_Comm_dup");
  check(MPI_Comm_dup(MPI_COMM_WORLD, &gradient_), "MPI_Comm_dup");
  check(MPI_Comm_dup(MPI_COMM_WORLD, &watch_), "MPI_Comm_dup");
  check(MPI_Irecv(&query_in_, 1, MPI_INT, MPI_ANY_SOURCE, kQueryTag, watch_, &query_request_), "MPI_Irecv");

  char version[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int len = 0;
  MPI_Get_library_version(version, &len);
  std::string lib(version, static_cast<size_t>(len));
  lib = lib.substr(0, lib.find_first_of(",\n"));
  // Where every rank runs (process id and host), for messages about a rank, and how many hosts.
  struct Place {
    int64_t pid;
    char host[56];
  } mine{static_cast<int64_t>(getpid()), {}};
  std::strncpy(mine.host, host_name().c_str(), sizeof mine.host - 1);
  std::vector<Place> all(static_cast<size_t>(size_));
  all_gather(&mine, all.data(), sizeof mine, "start-up (process ids and hosts)");
  std::vector<std::string> hosts;
  for (const Place& p : all) {
    hosts.emplace_back(p.host);
    where_.push_back("pid " + std::to_string(p.pid) + " on " + p.host);
  }
  std::sort(hosts.begin(), hosts.end());
  const auto distinct = std::unique(hosts.begin(), hosts.end()) - hosts.begin();
  describe_ = "MPI (" + lib + "), " + std::to_string(size_) + " ranks on " + std::to_string(distinct) +
              (distinct == 1 ? " host" : " hosts");
  progress_ = std::thread(&MpiCommunicator::progress_loop, this);
}

MpiCommunicator::~MpiCommunicator() {
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    stopping_ = true;
  }
  queue_changed_.notify_all();
  if (progress_.joinable()) progress_.join();
  try {
    // MPI_Finalize waits for every rank; a barrier first keeps that wait under the timeout.
    MPI_Request barrier;
    {
      std::lock_guard<std::mutex> lock(mpi_);
      check(MPI_Ibarrier(control_, &barrier), "MPI_Ibarrier");
    }
    wait(barrier, kControl, "the end of the run (every rank finishing)");
  } catch (const std::exception& e) {
    log().error("rank {}: {}", rank_, e.what());
    abort(1);
  }
  std::lock_guard<std::mutex> lock(mpi_);
  MPI_Cancel(&query_request_);
  MPI_Wait(&query_request_, MPI_STATUS_IGNORE);
  for (Reply& r : replies_) MPI_Wait(&r.request, MPI_STATUS_IGNORE);
  for (MPI_Comm* c : {&control_, &gradient_, &watch_}) MPI_Comm_free(c);
  MPI_Finalize();
}

// ---- waiting, status queries and the timeout ----

void MpiCommunicator::serve_queries() {
  for (;;) {
    int arrived = 0;
    MPI_Status status;
    MPI_Test(&query_request_, &arrived, &status);
    if (!arrived) break;
    Reply& reply = replies_.emplace_back();
    std::string text;
    for (int c : {kGradient, kControl})
      if (!waiting_in_[c].empty()) text += (text.empty() ? "" : "; ") + waiting_in_[c];
    std::snprintf(reply.text, sizeof reply.text, "waits in %s", text.c_str());
    MPI_Isend(reply.text, sizeof reply.text, MPI_CHAR, status.MPI_SOURCE, kReplyTag, watch_, &reply.request);
    MPI_Irecv(&query_in_, 1, MPI_INT, MPI_ANY_SOURCE, kQueryTag, watch_, &query_request_);
  }
  while (!replies_.empty()) {
    int done = 0;
    MPI_Test(&replies_.front().request, &done, MPI_STATUS_IGNORE);
    if (!done) break;
    replies_.pop_front();
  }
}

void MpiCommunicator::wait(MPI_Request& request, Channel channel, const std::string& what) {
  const double deadline = now_seconds() + timeout_s_;
  {
    std::lock_guard<std::mutex> lock(mpi_);
    waiting_in_[channel] = what;
  }
  // Spin briefly (small collectives finish within microseconds), then poll at growing intervals so a
  // waiting thread leaves the cores to the computation: non-blocking MPI only moves on inside MPI calls.
  for (int polls = 0;; ++polls) {
    int done = 0;
    {
      std::lock_guard<std::mutex> lock(mpi_);
      check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
      if (!done) serve_queries();
      else waiting_in_[channel].clear();
    }
    if (done) return;
    if (polls < 64) {
      std::this_thread::yield();
      continue;
    }
    if (now_seconds() > deadline) report_timeout(channel, what);
    std::this_thread::sleep_for(std::chrono::microseconds(std::min(10 << std::min((polls - 64) / 16, 5), 200)));
  }
}

void MpiCommunicator::report_timeout(Channel channel, const std::string& what) {
  if (aborting_.exchange(true)) {  // the other thread is reporting already and will end the job
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  // Ask every other rank where it is; those that are themselves waiting in a collective answer from
  // their polling loops. Whoever stays silent died, hangs, or never reaches a collective again.
  const double grace = std::clamp(timeout_s_ / 4, 1.0, 10.0);
  struct Answer {
    char text[256] = {};
    MPI_Request request = MPI_REQUEST_NULL;
    int question = 0;
    MPI_Request asked = MPI_REQUEST_NULL;
    bool answered = false;
  };
  std::vector<Answer> answers(static_cast<size_t>(size_));
  {
    std::lock_guard<std::mutex> lock(mpi_);
    for (int r = 0; r < size_; ++r) {
      if (r == rank_) continue;
      Answer& a = answers[static_cast<size_t>(r)];
      MPI_Irecv(a.text, sizeof a.text, MPI_CHAR, r, kReplyTag, watch_, &a.request);
      MPI_Isend(&a.question, 1, MPI_INT, r, kQueryTag, watch_, &a.asked);
    }
  }
  const double until = now_seconds() + grace;
  while (now_seconds() < until) {
    bool all = true;
    {
      std::lock_guard<std::mutex> lock(mpi_);
      serve_queries();
      for (int r = 0; r < size_; ++r) {
        Answer& a = answers[static_cast<size_t>(r)];
        if (r == rank_ || a.answered) continue;
        int done = 0;
        MPI_Test(&a.request, &done, MPI_STATUS_IGNORE);
        a.answered = done != 0;
        all = all && a.answered;
      }
    }
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::string silent, elsewhere;
  for (int r = 0; r < size_; ++r) {
    if (r == rank_) continue;
    const Answer& a = answers[static_cast<size_t>(r)];
    if (!a.answered) silent += (silent.empty() ? "" : ", ") + std::to_string(r) + " (" + where(r) + ")";
    else elsewhere += "; rank " + std::to_string(r) + " " + std::string(a.text, strnlen(a.text, sizeof a.text));
  }
  std::string message = "rank " + std::to_string(rank_) + ": " + what + " (" +
                        (channel == kControl ? "control" : "gradient") + " channel) waited more than " +
                        format_seconds(timeout_s_) + " s (distributed.timeout_s) for the other ranks";
  if (!silent.empty())
    message += "; rank" + std::string(silent.find(',') != std::string::npos ? "s " : " ") + silent +
               " did not answer within " + format_seconds(grace) + " s: dead, hung, or stopped outside the collectives";
  message += elsewhere + ". Ending the job.";
  log().error("{}", message);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);
}

void MpiCommunicator::abort(int code) {
  aborting_ = true;
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

// ---- control channel ----

void MpiCommunicator::all_reduce_sum(double* data, int64_t n, const std::string& what) {
  if (n == 0) return;
  // Gathered and summed in rank order: the same bits on every rank, whatever MPI's algorithm.
  std::vector<double> all(static_cast<size_t>(n) * static_cast<size_t>(size_));
  all_gather(data, all.data(), static_cast<size_t>(n) * sizeof(double), what);
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int r = 0; r < size_; ++r) s += all[static_cast<size_t>(r) * static_cast<size_t>(n) + static_cast<size_t>(i)];
    data[i] = s;
  }
}

void MpiCommunicator::all_gather(const void* send, void* recv, size_t bytes_per_rank, const std::string& what) {
  MPI_Request request;
  {
    std::lock_guard<std::mutex> lock(mpi_);
    const int count = count_of(static_cast<int64_t>(bytes_per_rank), what);
    check(MPI_Iallgather(send, count, MPI_BYTE, recv, count, MPI_BYTE, control_, &request), "MPI_Iallgather");
  }
  wait(request, kControl, what);
}

void MpiCommunicator::gather(const void* send, void* recv, size_t bytes_per_rank, int root, const std::string& what) {
  MPI_Request request;
  {
    std::lock_guard<std::mutex> lock(mpi_);
    const int count = count_of(static_cast<int64_t>(bytes_per_rank), what);
    check(MPI_Igather(send, count, MPI_BYTE, recv, count, MPI_BYTE, root, control_, &request), "MPI_Igather");
  }
  wait(request, kControl, what);
}

void MpiCommunicator::broadcast(void* data, size_t bytes, int root, const std::string& what) {
  MPI_Request request;
  {
    std::lock_guard<std::mutex> lock(mpi_);
    check(MPI_Ibcast(data, count_of(static_cast<int64_t>(bytes), what), MPI_BYTE, root, control_, &request),
          "MPI_Ibcast");
  }
  wait(request, kControl, what);
}

// ---- gradient channel ----

uint64_t MpiCommunicator::queue(BucketOp op) {
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    pending_.push_back(std::move(op));
  }
  queue_changed_.notify_all();
  return ++queued_;
}

void MpiCommunicator::wait_for(uint64_t ticket) {
  std::unique_lock<std::mutex> lock(queue_mutex_);
  queue_changed_.wait(lock, [&] { return finished_ >= ticket || error_; });
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

BusyIntervals MpiCommunicator::take_busy_intervals() {
  std::lock_guard<std::mutex> lock(queue_mutex_);
  return std::exchange(busy_intervals_, {});
}

void MpiCommunicator::progress_loop() {
  for (;;) {
    BucketOp op;
    {
      std::unique_lock<std::mutex> lock(queue_mutex_);
      queue_changed_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, nothing left
      op = std::move(pending_.front());
      pending_.pop_front();
    }
    const double start = now_seconds();
    std::exception_ptr error;
    try {
      run(op);
    } catch (...) {
      error = std::current_exception();
    }
    const double end = now_seconds();
    {
      std::lock_guard<std::mutex> lock(queue_mutex_);
      ++finished_;
      busy_intervals_.emplace_back(start, end);
      if (error && !error_) error_ = error;
    }
    queue_changed_.notify_all();
  }
}

void MpiCommunicator::run(BucketOp& op) {
  const Kernels& k = kernels_for(Device::CPU);
  const int chunk = count_of(op.chunk, op.what);
  const int64_t total = op.chunk * size_;
  count_of(total, op.what);
  auto start = [&](auto&& call, const char* name) {
    MPI_Request request;
    {
      std::lock_guard<std::mutex> lock(mpi_);
      check(call(&request), name);
    }
    wait(request, kGradient, op.what);
  };
  if (op.kind != BucketOp::Kind::AllGather && op.pre_scale != 1.0f) k.scale(total, op.pre_scale, op.data, op.data);
  switch (op.kind) {
    case BucketOp::Kind::AllReduce: {
      // In place: the sum of chunk `rank` lands at the buffer's start; it moves to its own place and
      // the all-gather hands every chunk to every rank.
      start([&](MPI_Request* r) {
        return MPI_Ireduce_scatter_block(MPI_IN_PLACE, op.data, chunk, MPI_FLOAT, MPI_SUM, gradient_, r);
      }, "MPI_Ireduce_scatter_block");
      float* mine = op.data + static_cast<int64_t>(rank_) * op.chunk;
      if (mine != op.data) std::memmove(mine, op.data, static_cast<size_t>(op.chunk) * sizeof(float));
      if (op.post_scale != 1.0f) k.scale(op.chunk, op.post_scale, mine, mine);
      start([&](MPI_Request* r) {
        return MPI_Iallgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, op.data, chunk, MPI_FLOAT, gradient_, r);
      }, "MPI_Iallgather");
      break;
    }
    case BucketOp::Kind::ReduceScatter:
      if (op.result == op.data + static_cast<int64_t>(rank_) * op.chunk) {  // in place, as in AllReduce
        start([&](MPI_Request* r) {
          return MPI_Ireduce_scatter_block(MPI_IN_PLACE, op.data, chunk, MPI_FLOAT, MPI_SUM, gradient_, r);
        }, "MPI_Ireduce_scatter_block");
        if (op.result != op.data) std::memmove(op.result, op.data, static_cast<size_t>(op.chunk) * sizeof(float));
      } else {
        start([&](MPI_Request* r) {
          return MPI_Ireduce_scatter_block(op.data, op.result, chunk, MPI_FLOAT, MPI_SUM, gradient_, r);
        }, "MPI_Ireduce_scatter_block");
      }
      if (op.post_scale != 1.0f) k.scale(op.chunk, op.post_scale, op.result, op.result);
      break;
    case BucketOp::Kind::AllGather:
      start([&](MPI_Request* r) {
        return MPI_Iallgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, op.data, chunk, MPI_FLOAT, gradient_, r);
      }, "MPI_Iallgather");
      break;
  }
}

}  // namespace frugal
