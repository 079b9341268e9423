// The data-parallel layout of the parameters (training/distributed/flat_parameters.h).
#include "training/distributed/flat_parameters.h"

#include <gtest/gtest.h>

#include <map>

#include "ops/layer.h"
#include "training/models/models.h"

namespace frugal {
namespace {

// A CNN with BatchNorm (convolutions, BN weights and biases, a linear classifier) on 8x8 images.
std::unique_ptr<Graph> small_cnn() {
  return build_model({{"arch", "cnn"}, {"channels", {4, 8}}, {"batch_norm", true}, {"activation", "relu"}, {"dropout", 0.0}, {"hidden", {16}}},
                     Shape{1, 8, 8}, 10, 7);
}

std::vector<std::vector<int>> backward_order(const Graph& g) {
  std::vector<std::vector<int>> groups;
  for (int i = g.size() - 1; i >= 0; --i) groups.push_back({i});
  return groups;
}

std::map<std::string, std::vector<float>> values_of(Graph& g) {
  std::map<std::string, std::vector<float>> out;
  for (Parameter* p : g.trainable_parameters()) out[p->name] = {p->value.f32(), p->value.f32() + p->value.numel()};
  return out;
}

TEST(FlatParameters, ParametersBecomeAlignedViewsOfOneBufferWithTheirValues) {
  auto g = small_cnn();
  const auto before = values_of(*g);
  FlatParameters flat(*g, backward_order(*g), 64, 2, 0, false);
  EXPECT_EQ(values_of(*g), before);
  const float* base = flat.weights().f32();
  for (const FlatPlace& place : flat.places()) {
    EXPECT_EQ(place.param->value.f32(), base + place.offset) << place.param->name;
    EXPECT_EQ(place.offset % 16, 0) << "64-byte aligned: " << place.param->name;
    const FlatBucket& b = flat.buckets()[static_cast<size_t>(place.bucket)];
    EXPECT_EQ(place.param->grad.f32(), flat.bucket_gradients(place.bucket).f32() + (place.offset - b.offset));
  }
  // Writing through a view lands in the flat buffer.
  g->trainable_parameters()[0]->value.f32()[0] = 42.0f;
  EXPECT_EQ(base[flat.places().back().offset], 42.0f) << "node 0's weight comes last in backward order";
}

TEST(FlatParameters, BucketsFollowTheGroupOrderAndSplitIntoEqualChunks) {
  auto g = small_cnn();
  FlatParameters flat(*g, backward_order(*g), 64, 3, 0, false);
  int64_t offset = 0;
  int last_node = g->size();
  for (const FlatBucket& b : flat.buckets()) {
    EXPECT_EQ(b.offset, offset);
    EXPECT_EQ(b.size % (16 * 3), 0) << "equal chunks of whole cache lines";
    EXPECT_EQ(b.ready_node, b.nodes.back());
    for (int node : b.nodes) {
      EXPECT_LT(node, last_node) << "backward order";
      last_node = node;
    }
    offset += b.size;
  }
  EXPECT_EQ(offset, flat.total());
  for (int i = 0; i < g->size(); ++i)
    EXPECT_EQ(flat.bucket_of_node(i) >= 0, !g->layer(i).parameters().empty() && g->layer(i).parameters()[0]->trainable)
        << g->layer(i).name();
}

// Every element of every trainable parameter lies in exactly one rank's shard.
void expect_each_element_in_one_shard(Graph& g, const FlatParameters& flat, int ranks) {
  std::map<std::string, std::vector<int>> covered;
  for (Parameter* p : g.trainable_parameters()) covered[p->name].assign(static_cast<size_t>(p->value.numel()), 0);
  for (int r = 0; r < ranks; ++r)
    for (const auto& node : flat.shard_slices(r))
      for (const ParameterSlice& s : node)
        for (int64_t i = s.begin; i < s.begin + s.count; ++i) ++covered[s.param->name][static_cast<size_t>(i)];
  for (const auto& [name, counts] : covered)
    for (int c : counts) ASSERT_EQ(c, 1) << name << " with " << ranks << " ranks";
}

// Every element of every parameter is in exactly one rank's shard, whatever the rank count.
TEST(FlatParameters, ShardsOfAllRanksCoverEachParameterOnce) {
  for (int ranks : {1, 2, 3, 5}) {
    auto g = small_cnn();
    FlatParameters flat(*g, backward_order(*g), 200, ranks, 0, false);
    expect_each_element_in_one_shard(*g, flat, ranks);
  }
}

// ZeRO-2 keeps two bucket slots plus a shard when that is smaller than all gradients, and falls back to
// the flat buffer, reduced in place, when one bucket holds most of the model.
TEST(FlatParameters, ShardedGradientsNeverTakeMoreThanAllGradients) {
  auto g = small_cnn();
  FlatParameters small_buckets(*g, backward_order(*g), 1, 2, 1, true);
  size_t bytes = 0;
  for (const auto& [name, b] : small_buckets.gradient_buffers()) bytes += b;
  EXPECT_LE(bytes, small_buckets.total() * sizeof(float));

  auto g2 = small_cnn();
  FlatParameters one_bucket(*g2, backward_order(*g2), 1 << 30, 2, 1, true);
  ASSERT_EQ(one_bucket.buckets().size(), 1u);
  EXPECT_EQ(one_bucket.slots(), 0);
  // Rank 1's shard of the gradients is its own chunk of the flat buffer.
  EXPECT_EQ(one_bucket.shard_gradients_of(0).f32(), one_bucket.bucket_gradients(0).f32() + one_bucket.chunk(0));
}

// An MLP whose first layer holds most of the parameters (the Fashion-MNIST CNN's fc in small): fc0
// [512, 64] is 32768 of 35352 (hidden {512, 4}); with hidden {96, 32}, fc0 [96, 64] and fc1 [32, 96]
// both span several 1024-element buckets in pieces of 16 rows.
std::unique_ptr<Graph> big_first_layer(std::vector<int> hidden = {512, 4}) {
  return build_model({{"arch", "mlp"}, {"hidden", hidden}, {"activation", "relu"}, {"dropout", 0.0}}, Shape{1, 8, 8}, 4, 7);
}

SplitPredicate linear_weights(Graph& g) {
  return [&g](int node, const Parameter& p) {
    auto* layer = dynamic_cast<WeightedLayer*>(&g.layer(node));
    return layer && layer->can_split_weight_gradient() && &layer->weight() == &p;
  };
}

TEST(FlatParameters, AWeightLargerThanABucketSpansBucketsOfItsOwnInPiecesOfRows) {
  for (int ranks : {1, 2, 3}) {
    auto g = big_first_layer({96, 32});
    const auto before = values_of(*g);
    FlatParameters flat(*g, backward_order(*g), 1024, ranks, 0, false, linear_weights(*g));
    EXPECT_EQ(values_of(*g), before);
    ASSERT_EQ(flat.splits().size(), 2u) << "fc0 [96, 64] and fc1 [32, 96] are larger than 1024 elements";
    for (const FlatSplit& split : flat.splits()) {
      const FlatPlace* place = nullptr;
      for (const FlatPlace& p : flat.places())
        if (p.param == split.param) place = &p;
      ASSERT_NE(place, nullptr);
      const int64_t rows = split.param->value.dim(0), cols = split.param->value.numel() / rows;
      ASSERT_EQ(split.row_bounds.front(), 0);
      ASSERT_EQ(split.row_bounds.back(), rows);
      const int pieces = static_cast<int>(split.row_bounds.size()) - 1;
      EXPECT_GE(pieces, 2);
      EXPECT_EQ(place->bucket, split.first_bucket);
      EXPECT_EQ(place->last_bucket, split.first_bucket + pieces - 1);
      for (int i = 0; i < pieces; ++i) {
        const int bi = split.first_bucket + i;
        const FlatBucket& b = flat.buckets()[static_cast<size_t>(bi)];
        const int64_t elements = (split.row_bounds[static_cast<size_t>(i) + 1] - split.row_bounds[static_cast<size_t>(i)]) * cols;
        // End to end: the weight stays one contiguous view of the flat weights.
        EXPECT_EQ(b.offset, place->offset + split.row_bounds[static_cast<size_t>(i)] * cols);
        EXPECT_EQ(b.size % (16 * ranks), 0);
        if (i + 1 < pieces) {
          EXPECT_EQ(b.size, elements) << "only the last piece is padded";
        }
        EXPECT_LE(elements, 1024 + 16 * ranks * cols) << "about a bucket";
        EXPECT_EQ(b.nodes, std::vector<int>{split.node});
        EXPECT_EQ(b.ready_node, -1) << "the layer queues its pieces";
        EXPECT_EQ(flat.bucket_at(b.offset), bi);
        EXPECT_EQ(flat.bucket_at(b.offset + b.size - 1), bi);
      }
      EXPECT_EQ(split.param->value.f32(), flat.weights().f32() + place->offset);
      EXPECT_EQ(split.param->grad.f32(), flat.bucket_gradients(split.first_bucket).f32());
      EXPECT_EQ(flat.bucket_of_node(split.node), split.first_bucket + pieces) << "its bias's bucket";
    }
    // Every element in exactly one rank's shard: one slice per piece.
    expect_each_element_in_one_shard(*g, flat, ranks);
  }
}

// ZeRO-2: with the large layer in pieces, a slot holds a piece and the gradients drop to a piece plus
// half; as one bucket, its slot would cost more than it saves and the flat buffer stays.
TEST(FlatParameters, ShardedGradientsOfALayerInPiecesTakeAboutHalf) {
  auto g = big_first_layer();
  FlatParameters pieces(*g, backward_order(*g), 1024, 2, 1, true, linear_weights(*g));
  size_t bytes = 0;
  for (const auto& [name, b] : pieces.gradient_buffers()) bytes += b;
  const size_t all = static_cast<size_t>(pieces.total()) * sizeof(float);
  EXPECT_GT(pieces.slots(), 0);
  EXPECT_LT(bytes, 0.65 * static_cast<double>(all));
  for (const FlatSplit& split : pieces.splits())
    EXPECT_FALSE(split.param->grad.defined()) << "no buffer holds all of " << split.param->name;

  auto g2 = big_first_layer();
  FlatParameters whole(*g2, backward_order(*g2), 1024, 2, 1, true);
  EXPECT_TRUE(whole.splits().empty());
  EXPECT_EQ(whole.slots(), 0);
}

}  // namespace
}  // namespace frugal
