// Data parallelism's layout of the trainable parameters (docs/distributed.md): whole layers grouped into
// buckets in the order their gradients become final, each bucket one contiguous range of a flat weight
// buffer and of a flat gradient buffer, padded to a multiple of 16 floats times the rank count so that it
// splits into equal, 64-byte aligned chunks: chunk r of every bucket is rank r's shard when the optimizer
// state is sharded (ZeRO-1). The parameters' .value and .grad become views into these buffers, so layers,
// modes and optimizers run unchanged, and a bucket's collective is one call over contiguous memory.
//
//   weights  | bucket 0: fc.w fc.b pad | bucket 1: conv2.w bn2.w bn2.b pad | ...   (plain step: backward order)
//            |<--- chunk 0 --->|<--- chunk 1 --->|                                (2 ranks)
//
// With sharded gradients (ZeRO-2) bucket b's gradients are views into slot b % K of K bucket-sized
// slots, reduce-scattered into a shard buffer of total / N elements as soon as the bucket is done, so a
// slot is free again K buckets later. Gradients then take K * (largest bucket) + total / N floats instead
// of total. K = 2 lets a bucket's reduction overlap the next bucket's backward (kept when the second slot
// costs at most total / 8); K = 1 waits for it; when even that is no smaller than total (one bucket holds
// most of the model), K = 0: the flat gradient buffer stays and each bucket is reduce-scattered in place,
// into this rank's own chunk.
//
// A parameter larger than a bucket whose layer can hand its gradient on in pieces of whole rows
// (WeightedLayer::set_weight_gradient_pieces: a Linear weight under exact, recompute, fa or quantized)
// spans several buckets of its own, one piece each, laid out end to end (piece sizes are multiples of
// 16 * ranks floats, so the weight stays one contiguous view):
//
//   | ... | fc1.w rows 0-20 | fc1.w rows 21-41 | ... | fc1.w rows 252-255 pad | fc1.b conv2.w ... |
//
// The backward reduces each piece while it computes the next, and ZeRO-2's slots only need to hold a
// piece: without this, the CNN's 3136 x 256 layer (97% of its parameters) would need a slot of its own
// size and ZeRO-2 would save nothing. Such a parameter's .grad is a view of the flat gradients, or
// undefined under ZeRO-2 with slots (no buffer holds all of it); its shard is one slice per piece.
#pragma once
#include <functional>
#include <vector>

#include "core/tensor.h"
#include "training/graph.h"
#include "training/optim/parameter_slice.h"

namespace frugal {

struct FlatBucket {
  std::vector<int> nodes;        // the nodes whose parameters it holds, in order
  int64_t offset = 0, size = 0;  // elements of the flat buffers; size is a multiple of 16 * ranks
  int ready_node = -1;           // the last of `nodes`: after its backward the bucket's gradients are final
};

struct FlatPlace {
  Parameter* param;
  int node, bucket;
  int64_t offset;       // of its first element in the flat buffers
  int last_bucket = -1;  // == bucket, unless the parameter is split into pieces (buckets bucket..last_bucket)
};

// A parameter split into pieces of rows: rows [row_bounds[i], row_bounds[i+1]) are bucket first_bucket + i.
struct FlatSplit {
  int node;
  Parameter* param;
  std::vector<int64_t> row_bounds;
  int first_bucket;
};

// Whether node `node`'s parameter `p` may be split into pieces of rows (see above).
using SplitPredicate = std::function<bool(int node, const Parameter& p)>;

class FlatParameters {
 public:
  // `node_groups`: nodes in the order their gradients become final, in groups a bucket never splits (a
  // MEM-DFA block). A bucket closes once it holds at least `bucket_elements` (1: one bucket per group
  // with parameters). Copies every trainable parameter into the flat weights and rebinds its .value and
  // .grad; the gradients start at zero. A parameter for which `splittable` is true, the first of its node
  // and larger than a bucket, is split into pieces of about `bucket_elements` (see above).
  FlatParameters(Graph& graph, const std::vector<std::vector<int>>& node_groups, int64_t bucket_elements, int ranks,
                 int rank, bool shard_gradients, const SplitPredicate& splittable = {});

  int ranks() const { return ranks_; }
  int slots() const { return static_cast<int>(slots_.size()); }  // K of ZeRO-2 (0 without sharded gradients)
  bool shard_gradients() const { return shard_gradients_; }
  const std::vector<FlatBucket>& buckets() const { return buckets_; }
  const std::vector<FlatPlace>& places() const { return places_; }
  const std::vector<FlatSplit>& splits() const { return splits_; }
  // -1 for a node without trainable parameters. The bucket whose ready_node it is, if any; a node whose
  // only parameter is split: its last piece (ready_node -1: the layer queues its pieces itself).
  int bucket_of_node(int node) const;
  int bucket_at(int64_t offset) const;  // the bucket holding flat element `offset`
  int64_t total() const { return total_; }
  int64_t chunk(int bucket) const { return buckets_[bucket].size / ranks_; }

  // All weights, [total].
  const Tensor& weights() const { return weights_; }
  Tensor bucket_weights(int bucket) const;
  // Where the backward writes bucket b's gradients, [size]: the flat gradients, or its ZeRO-2 slot.
  Tensor bucket_gradients(int bucket) const;
  // ZeRO-2: this rank's reduced chunk of bucket b, [chunk], in the shard buffer.
  Tensor shard_gradients_of(int bucket) const;
  // Zeroes bucket b's gradient slot before the backward writes it (ZeRO-2 with slots; a no-op otherwise).
  void clear_slot(int bucket) const;

  // The slices of `rank`'s shard (chunk `rank` of every bucket), per node: what a sharded optimizer
  // updates, with the gradients in the shard buffer under ZeRO-2.
  std::vector<std::vector<ParameterSlice>> shard_slices(int rank) const;

  // The persistent gradient memory, for the memory report: {name, bytes}.
  std::vector<std::pair<std::string, size_t>> gradient_buffers() const;

 private:
  int ranks_, rank_;
  bool shard_gradients_;
  std::vector<FlatBucket> buckets_;
  std::vector<FlatPlace> places_;
  std::vector<FlatSplit> splits_;
  std::vector<int> bucket_of_node_;
  int64_t total_ = 0;
  Tensor weights_;
  Tensor gradients_;           // [total], unless ZeRO-2 uses slots
  std::vector<Tensor> slots_;  // ZeRO-2: K of [largest bucket]
  Tensor shard_;               // ZeRO-2 with slots: [total / ranks], bucket b's chunk at offset / ranks
};

}  // namespace frugal
