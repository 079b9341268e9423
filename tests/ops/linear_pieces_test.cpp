// A Linear layer's weight gradient in pieces of rows (WeightedLayer::GradientPieces), as data parallelism
// takes it: with pieces of a multiple of 16 rows (training/distributed/flat_parameters.cpp, kPieceRows)
// every piece holds the bits of the same rows of the whole gradient (the same GEMM on fewer rows), the
// pieces come in order, each handed on before the next is computed, and the bias gradient is the whole
// one. Data-parallel runs with a layer in pieces are bit-identical to single-process ones only because of
// this (pieces of 1 or 2 rows are not: OpenBLAS's remainder kernels round differently).
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "ops/linear.h"

namespace frugal {
namespace {

struct Case {
  int64_t n, in, out;
  std::vector<int64_t> rows;  // piece bounds
};

TEST(LinearPieces, PiecesOfRowsAreTheWholeGradientsRowsBitForBit) {
  const std::vector<Case> cases = {
      {128, 3136, 256, {0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256}},  // the CNN's fc, 0.25 MiB
      {64, 3136, 256, {0, 16, 32, 208, 256}},
      {16, 100, 100, {0, 16, 48, 96, 100}},  // the whole product ends in a remainder tile too
      {7, 33, 40, {0, 16, 32, 40}},
      {32, 64, 96, {0, 16, 32, 48, 64, 80, 96}},
      {8, 64, 4096, {0, 1024, 2048, 2064, 4096}},  // more rows than columns: threads split the rows
  };
  const int threads_before = omp_get_max_threads();
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (const Case& c : cases) {
      Linear fc("fc", c.in, c.out, true, rng_key(5, RngStream::Init));
      fc.setup({Shape{c.n, c.in}});
      Tensor x = Tensor::empty({c.n, c.in}), dy = Tensor::empty({c.n, c.out});
      rng_uniform(rng_key(1, RngStream::Test), x.f32(), static_cast<size_t>(x.numel()), -1.0f, 1.0f);
      rng_uniform(rng_key(2, RngStream::Test), dy.f32(), static_cast<size_t>(dy.numel()), -1.0f, 1.0f);
      fc.backward_weight(x, dy, nullptr);
      const std::vector<float> whole(fc.weight().grad.f32(), fc.weight().grad.f32() + fc.weight().grad.numel());
      const std::vector<float> whole_bias(fc.bias()->grad.f32(), fc.bias()->grad.f32() + c.out);
      fc.weight().grad.zero();
      fc.bias()->grad.zero();

      std::vector<float> pieces(whole.size(), -1.0f);
      std::vector<int> order;
      WeightedLayer::GradientPieces sink;
      sink.row_bounds = c.rows;
      sink.destination = [&](int i) { return pieces.data() + c.rows[static_cast<size_t>(i)] * c.in; };
      sink.done = [&](int i) {
        // Piece i is complete when handed on, and the next is not started yet.
        const size_t begin = static_cast<size_t>(c.rows[static_cast<size_t>(i)] * c.in);
        const size_t end = static_cast<size_t>(c.rows[static_cast<size_t>(i) + 1] * c.in);
        EXPECT_TRUE(std::equal(pieces.begin() + begin, pieces.begin() + end, whole.begin() + begin)) << "piece " << i << " of " << c.n << "x" << c.in << "->" << c.out << ", " << threads << " thread(s)";
        if (end < pieces.size()) {
          EXPECT_EQ(pieces[end], -1.0f);
        }
        order.push_back(i);
      };
      fc.set_weight_gradient_pieces(&sink);
      fc.backward_weight(x, dy, nullptr);
      fc.set_weight_gradient_pieces(nullptr);
      const std::string what = std::to_string(c.n) + "x" + std::to_string(c.in) + "->" + std::to_string(c.out) +
                               ", " + std::to_string(threads) + " thread(s)";
      EXPECT_TRUE(pieces == whole) << what;
      EXPECT_EQ(order.size(), c.rows.size() - 1) << what;
      for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], static_cast<int>(i)) << what;
      EXPECT_EQ(std::vector<float>(fc.bias()->grad.f32(), fc.bias()->grad.f32() + c.out), whole_bias) << what;
      for (int64_t i = 0; i < fc.weight().grad.numel(); ++i)
        ASSERT_EQ(fc.weight().grad.f32()[i], 0.0f) << "the pieces do not touch weight().grad: " << what;
    }
  }
  omp_set_num_threads(threads_before);
}

TEST(LinearPieces, PiecesThatDoNotCoverTheRowsOrMicroBatchesAreRefused) {
  Linear fc("fc", 8, 6, false, rng_key(5, RngStream::Init));
  fc.setup({Shape{4, 8}});
  Tensor x = Tensor::zeros({4, 8}), dy = Tensor::zeros({4, 6});
  std::vector<float> sink_buffer(48);
  WeightedLayer::GradientPieces sink;
  sink.row_bounds = {0, 3};
  sink.destination = [&](int i) { return sink_buffer.data(); };
  sink.done = [](int) {};
  fc.set_weight_gradient_pieces(&sink);
  EXPECT_THROW(fc.backward_weight(x, dy, nullptr), InternalError);
  sink.row_bounds = {0, 3, 6};
  fc.set_accumulate_param_grads(true);
  EXPECT_THROW(fc.backward_weight(x, dy, nullptr), InternalError);
  fc.set_accumulate_param_grads(false);
  EXPECT_NO_THROW(fc.backward_weight(x, dy, nullptr));
}

}  // namespace
}  // namespace frugal
