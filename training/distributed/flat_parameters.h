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
// of total. K = 2 lets a bucket's reduction overlap the next bucket's backward; K = 1 waits for it; when
// even that is no smaller than total (one bucket holds most of the model), K = 0: the flat gradient
// buffer stays and each bucket is reduce-scattered in place, into this rank's own chunk.
#pragma once
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
  int64_t offset;  // of its first element in the flat buffers
};

class FlatParameters {
 public:
  // `node_groups`: nodes in the order their gradients become final, in groups a bucket never splits (a
  // MEM-DFA block). A bucket closes once it holds at least `bucket_elements` (1: one bucket per group
  // with parameters). Copies every trainable parameter into the flat weights and rebinds its .value and
  // .grad; the gradients start at zero.
  FlatParameters(Graph& graph, const std::vector<std::vector<int>>& node_groups, int64_t bucket_elements, int ranks,
                 int rank, bool shard_gradients);

  int ranks() const { return ranks_; }
  int slots() const { return static_cast<int>(slots_.size()); }  // K of ZeRO-2 (0 without sharded gradients)
  bool shard_gradients() const { return shard_gradients_; }
  const std::vector<FlatBucket>& buckets() const { return buckets_; }
  const std::vector<FlatPlace>& places() const { return places_; }
  int bucket_of_node(int node) const;  // -1 for a node without trainable parameters
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
  std::vector<int> bucket_of_node_;
  int64_t total_ = 0;
  Tensor weights_;
  Tensor gradients_;           // [total], unless ZeRO-2 uses slots
  std::vector<Tensor> slots_;  // ZeRO-2: K of [largest bucket]
  Tensor shard_;               // ZeRO-2 with slots: [total / ranks], bucket b's chunk at offset / ranks
};

}  // namespace frugal
