#include "training/distributed/flat_parameters.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace frugal {
namespace {

constexpr int64_t kAlign = 16;  // floats: every parameter and chunk starts on a 64-byte boundary

int64_t round_up(int64_t n, int64_t to) { return (n + to - 1) / to * to; }

// Rows of a piece are a multiple of this: OpenBLAS's x86 sgemm kernels compute dW in tiles of whole rows
// (dW^T column-major: 4 rows in the 16x4 SkylakeX and Haswell/Zen kernels, 8 in the older 8x8 ones), and
// a remainder tile runs other code that rounds differently, so pieces that start on a tile boundary give
// the whole product's bits (tests/ops/linear_pieces_test.cpp). 16 rows start a tile in every kernel.
constexpr int64_t kPieceRows = 16;

// Row bounds of `p`'s pieces of about `bucket_elements` each (a multiple of kPieceRows rows whose elements
// are a multiple of 16 * ranks, so every piece but the last fills its bucket exactly), or {} when it fits one.
std::vector<int64_t> piece_rows(const Parameter& p, int64_t bucket_elements, int ranks) {
  if (p.value.ndim() < 2 || bucket_elements <= 1) return {};
  const int64_t rows = p.value.dim(0), cols = p.value.numel() / rows;
  const int64_t granule = std::lcm(kPieceRows, kAlign * ranks / std::gcd(cols, kAlign * ranks));  // rows
  const int64_t per = std::max(granule, bucket_elements / cols / granule * granule);
  if (per >= rows) return {};
  std::vector<int64_t> bounds;
  for (int64_t r = 0; r < rows; r += per) bounds.push_back(r);
  bounds.push_back(rows);
  return bounds;
}

Tensor flat_tensor(Device device, int64_t n, MemoryCategory category, const char* owner) {
  return Tensor::zeros({std::max<int64_t>(n, 1)}, DType::F32, &device_runtime(device).allocator(), {category, owner})
      .slice0(0, n);
}

}  // namespace

FlatParameters::FlatParameters(Graph& graph, const std::vector<std::vector<int>>& node_groups,
                               int64_t bucket_elements, int ranks, int rank, bool shard_gradients,
                               const SplitPredicate& splittable)
    : ranks_(ranks),
      rank_(rank),
      shard_gradients_(shard_gradients),
      bucket_of_node_(static_cast<size_t>(graph.size()), -1) {
  if (ranks < 1) throw InternalError("FlatParameters: " + std::to_string(ranks) + " ranks");
  // Layout: parameters in group order, each at an aligned offset; a bucket closes at a group boundary
  // once it is large enough.
  FlatBucket open;
  int64_t used = 0;  // elements of the open bucket
  auto close = [&] {
    if (open.nodes.empty()) return;
    open.offset = total_;
    open.size = round_up(used, kAlign * ranks_);
    open.ready_node = open.nodes.back();
    total_ += open.size;
    buckets_.push_back(open);
    open = FlatBucket{};
    used = 0;
  };
  for (const std::vector<int>& group : node_groups) {
    for (int node : group) {
      bool any = false, in_open = false;
      for (Parameter* p : graph.layer(node).parameters()) {
        if (!p->trainable) continue;
        const std::vector<int64_t> rows =
            !any && splittable && splittable(node, *p) ? piece_rows(*p, bucket_elements, ranks_) : std::vector<int64_t>{};
        any = true;
        if (!rows.empty()) {  // pieces, each a bucket of its own, after the open bucket
          close();
          const int first = static_cast<int>(buckets_.size());
          const int64_t cols = p->value.numel() / p->value.dim(0);
          places_.push_back({p, node, first, total_, first + static_cast<int>(rows.size()) - 2});
          for (size_t i = 0; i + 1 < rows.size(); ++i) {
            FlatBucket piece;
            piece.nodes = {node};
            piece.offset = total_;
            piece.size = round_up((rows[i + 1] - rows[i]) * cols, kAlign * ranks_);
            piece.ready_node = -1;  // queued by the layer (WeightedLayer::GradientPieces::done)
            total_ += piece.size;
            buckets_.push_back(piece);
          }
          splits_.push_back({node, p, rows, first});
          continue;
        }
        const int b = static_cast<int>(buckets_.size());
        places_.push_back({p, node, b, total_ + used, b});
        used += round_up(p->value.numel(), kAlign);
        in_open = true;
      }
      if (!any) continue;
      if (bucket_of_node_.at(static_cast<size_t>(node)) >= 0)
        throw InternalError("FlatParameters: node " + std::to_string(node) + " appears twice");
      bucket_of_node_[static_cast<size_t>(node)] = static_cast<int>(buckets_.size()) - (in_open ? 0 : 1);
      if (in_open) open.nodes.push_back(node);
    }
    if (used >= bucket_elements) close();
  }
  close();
  for (int i = 0; i < graph.size(); ++i)
    for (Parameter* p : graph.layer(i).parameters())
      if (p->trainable && bucket_of_node_[static_cast<size_t>(i)] < 0)
        throw InternalError("FlatParameters: node " + std::to_string(i) + " (" + graph.layer(i).name() +
                            ") has parameters but is in no group");

  const Device device = graph.device();
  weights_ = flat_tensor(device, total_, MemoryCategory::Weights, "data-parallel weights");
  int64_t largest = 0;
  for (const FlatBucket& b : buckets_) largest = std::max(largest, b.size);
  // Two slots let a bucket's reduction overlap the next bucket's backward; they are kept when they save
  // memory against one flat buffer and the second costs at most an eighth of all gradients. Otherwise one
  // slot (the backward waits for each bucket's reduction) when that saves memory, else none.
  int slots = 0;
  if (shard_gradients_)
    slots = 2 * largest + total_ / ranks_ < total_ && 8 * largest <= total_ ? 2
            : largest + total_ / ranks_ < total_                        ? 1
                                                                         : 0;
  for (int k = 0; k < slots; ++k)
    slots_.push_back(flat_tensor(device, largest, MemoryCategory::Gradients, k == 0 ? "gradient slot 0" : "gradient slot 1"));
  if (slots > 0)
    shard_ = flat_tensor(device, total_ / ranks_, MemoryCategory::Gradients, "gradient shard");
  else
    gradients_ = flat_tensor(device, total_, MemoryCategory::Gradients, "data-parallel gradients");
  for (const FlatPlace& place : places_) {
    Parameter& p = *place.param;
    const Shape shape = p.value.shape();
    const int64_t n = p.value.numel();
    Tensor value = weights_.slice0(place.offset, place.offset + n).reshape(shape);
    value.copy_from(p.value);
    p.value = value;
    if (place.last_bucket != place.bucket) {  // pieces: all of it only in the flat gradients
      p.grad = slots_.empty() ? gradients_.slice0(place.offset, place.offset + n).reshape(shape) : Tensor{};
      continue;
    }
    const FlatBucket& b = buckets_[static_cast<size_t>(place.bucket)];
    const int64_t in_bucket = place.offset - b.offset;
    p.grad = bucket_gradients(place.bucket).slice0(in_bucket, in_bucket + n).reshape(shape);
  }
}

int FlatParameters::bucket_at(int64_t offset) const {
  if (offset < 0 || offset >= total_) throw InternalError("FlatParameters::bucket_at(" + std::to_string(offset) + ")");
  const auto it = std::upper_bound(buckets_.begin(), buckets_.end(), offset,
                                   [](int64_t o, const FlatBucket& b) { return o < b.offset; });
  return static_cast<int>(it - buckets_.begin()) - 1;
}

int FlatParameters::bucket_of_node(int node) const { return bucket_of_node_.at(static_cast<size_t>(node)); }

Tensor FlatParameters::bucket_weights(int bucket) const {
  const FlatBucket& b = buckets_.at(static_cast<size_t>(bucket));
  return weights_.slice0(b.offset, b.offset + b.size);
}

Tensor FlatParameters::bucket_gradients(int bucket) const {
  const FlatBucket& b = buckets_.at(static_cast<size_t>(bucket));
  if (slots_.empty()) return gradients_.slice0(b.offset, b.offset + b.size);
  return slots_[static_cast<size_t>(bucket) % slots_.size()].slice0(0, b.size);
}

Tensor FlatParameters::shard_gradients_of(int bucket) const {
  if (!shard_gradients_) throw InternalError("FlatParameters::shard_gradients_of without sharded gradients");
  const FlatBucket& b = buckets_.at(static_cast<size_t>(bucket));
  if (slots_.empty()) {  // reduced in place, into this rank's chunk of the flat buffer
    const int64_t first = b.offset + rank_ * (b.size / ranks_);
    return gradients_.slice0(first, first + b.size / ranks_);
  }
  return shard_.slice0(b.offset / ranks_, (b.offset + b.size) / ranks_);
}

void FlatParameters::clear_slot(int bucket) const {
  if (!slots_.empty()) bucket_gradients(bucket).zero();
}

std::vector<std::vector<ParameterSlice>> FlatParameters::shard_slices(int rank) const {
  std::vector<std::vector<ParameterSlice>> per_node(bucket_of_node_.size());
  for (const FlatPlace& place : places_)
    for (int bi = place.bucket; bi <= place.last_bucket; ++bi) {  // one slice per piece of a split parameter
      const FlatBucket& b = buckets_[static_cast<size_t>(bi)];
      const int64_t c = b.size / ranks_;
      const int64_t lo = b.offset + rank * c, hi = lo + c;  // the shard, in flat elements
      const int64_t first = std::max(lo, place.offset), last = std::min(hi, place.offset + place.param->value.numel());
      if (first >= last) continue;
      Tensor grad;
      if (shard_gradients_) grad = shard_gradients_of(bi).slice0(first - lo, last - lo);
      per_node[static_cast<size_t>(place.node)].emplace_back(place.param, first - place.offset, last - first, grad);
    }
  return per_node;
}

std::vector<std::pair<std::string, size_t>> FlatParameters::gradient_buffers() const {
  if (slots_.empty()) return {{"data-parallel gradients", gradients_.nbytes()}};
  std::vector<std::pair<std::string, size_t>> out;
  for (size_t k = 0; k < slots_.size(); ++k) out.emplace_back("gradient slot " + std::to_string(k), slots_[k].nbytes());
  out.emplace_back("gradient shard", shard_.nbytes());
  return out;
}

}  // namespace frugal
