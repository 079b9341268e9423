// End-to-end data parallelism (docs/distributed.md): `mpirun --oversubscribe -np 2 frugal train` on small
// synthetic data, against single-process runs.
//
// Tolerance of "2 ranks x batch B == 1 rank x batch 2B": both compute the mean gradient over the same 2B
// samples, once as one sum over 2B divided by 2B, once as two sums over B divided by B and averaged.
// Mathematically equal; in float32 the summation order differs, so each step's gradient differs by a few
// ulps (about 1e-7 relative), and K = 16 SGD steps carry such differences on without amplifying them in
// these small, well-conditioned models. kTolerance = 1e-5 relative to each tensor's largest entry leaves
// two orders of magnitude of margin for that and is still far below what a real difference in the
// computation gives: every test also checks that 1 rank x batch B (other samples per step), or per-rank
// BatchNorm statistics, land well outside it.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "tests/e2e/mpi_runner.h"

namespace frugal::e2e {
namespace {

namespace fs = std::filesystem;

constexpr double kTolerance = 1e-5;

// tiny_config without dropout (its masks are drawn per rank), under backward mode `mode`, with
// `batch` samples per rank.
nlohmann::json dp_config(const std::string& mode, int batch) {
  nlohmann::json c = tiny_config("dp_" + mode);
  c["model"]["dropout"] = 0.0;
  c["threads"] = 1;
  c["data"]["batch_size"] = batch;
  c["backward"] = {{"default", {{"mode", mode}}}};
  return c;
}

// A small CNN with BatchNorm on 8x8 images.
nlohmann::json bn_config(int batch) {
  nlohmann::json c = dp_config("exact", batch);
  c["model"] = {{"arch", "cnn"}, {"channels", {4, 8}}, {"batch_norm", true}};
  return c;
}

std::string write(const TempDir& dir, const std::string& file, const nlohmann::json& config) {
  write_text(dir.path() / file, config.dump(2));
  return dir.str(file);
}

std::string model_of(const TempDir& dir, const std::string& run) {
  return dir.str(run + "/checkpoint/model.safetensors");
}

class TwoRanksMatchOneRank : public ::testing::TestWithParam<const char*> {};

// The gradient of every one of these modes is a mean over the batch's samples, so averaging two ranks'
// gradients over B samples each gives one rank's gradient over the 2B.
TEST_P(TwoRanksMatchOneRank, TwoRanksOfBatchBMatchOneRankOfBatch2B) {
  FRUGAL_SKIP_WITHOUT_MPI();
  const std::string mode = GetParam();
  TempDir dir("dp_match_" + mode);
  CliResult one = run_frugal("train --config " + write(dir, "b32.json", dp_config(mode, 32)) + " --output " + dir.str("one"));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const std::string b16 = write(dir, "b16.json", dp_config(mode, 16));
  CliResult two = run_mpi(2, "train --config " + b16 + " --output " + dir.str("two"));
  ASSERT_EQ(two.exit_code, 0) << two.output;
  CliResult other = run_frugal("train --config " + b16 + " --output " + dir.str("other"));
  ASSERT_EQ(other.exit_code, 0) << other.output;

  const double same = max_relative_difference(model_of(dir, "two"), model_of(dir, "one"));
  const double different = max_relative_difference(model_of(dir, "other"), model_of(dir, "one"));
  EXPECT_LT(same, kTolerance) << "2 ranks x 16 vs 1 rank x 32";
  EXPECT_GT(different, 100 * kTolerance) << "1 rank x 16 vs 1 rank x 32 should differ clearly";
  const auto summary = nlohmann::json::parse(read_text(dir.path() / "two/summary.json"));
  EXPECT_EQ(summary["world_size"], 2);
  EXPECT_EQ(summary["steps"], 16);
  EXPECT_EQ(summary["per_rank_peak_bytes"].size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Modes, TwoRanksMatchOneRank, ::testing::Values("exact", "fa", "dfa", "mem_dfa"));

// train.micro_batches on every rank: the gradients add up over the passes and are reduced once, after
// the last, so two ranks of 4 passes of 4 samples train as one rank over the 32 (docs/memory_budget.md).
TEST(DistributedCli, MicroBatchesOnEveryRankMatchOneRankOfTheWholeBatch) {
  FRUGAL_SKIP_WITHOUT_MPI();
  TempDir dir("dp_micro");
  CliResult one = run_frugal("train --config " + write(dir, "b32.json", dp_config("exact", 32)) + " --output " +
                             dir.str("one"));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  nlohmann::json split = dp_config("exact", 16);
  split["train"]["micro_batches"] = 4;
  CliResult two = run_mpi(2, "train --config " + write(dir, "b16.json", split) + " --output " + dir.str("two"));
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_LT(max_relative_difference(model_of(dir, "two"), model_of(dir, "one")), kTolerance);
}

TEST(DistributedCli, MicroBatchesWithShardedGradientsAreRefused) {
  FRUGAL_SKIP_WITHOUT_MPI();
  TempDir dir("dp_micro_zero2");
  nlohmann::json c = dp_config("exact", 16);
  c["train"]["micro_batches"] = 2;
  c["distributed"] = {{"shard_optimizer_state", true}, {"shard_gradients", true}};
  CliResult r = run_mpi(2, "train --config " + write(dir, "c.json", c) + " --output " + dir.str("run"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("train.micro_batches: 2 with distributed.shard_gradients"), std::string::npos) << r.output;
}

// The modes whose gradients are estimates (quantized stashes, few-bit activation codes, randomized
// traces): one rank under mpirun is the single-process run bit for bit (the data-parallel step and layout
// change no value), and two ranks train, with sync_batchnorm so that the quantized BatchNorm backward
// (from its normalised codes) goes through the replica sums too.
class ApproximateModes : public ::testing::TestWithParam<const char*> {};

TEST_P(ApproximateModes, OneRankIsTheSingleProcessRunAndTwoRanksTrain) {
  FRUGAL_SKIP_WITHOUT_MPI();
  const std::string mode = GetParam();
  TempDir dir("dp_modes_" + mode);
  nlohmann::json c = bn_config(16);
  c["backward"] = {{"default", {{"mode", mode}}}};
  if (mode == "quantized") c["backward"]["default"]["bits"] = 4;
  const std::string file = write(dir, "c.json", c);
  CliResult alone = run_frugal("train --config " + file + " --output " + dir.str("alone"));
  ASSERT_EQ(alone.exit_code, 0) << alone.output;
  CliResult one = run_mpi(1, "train --config " + file + " --output " + dir.str("one"));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_TRUE(read_text(model_of(dir, "alone")) == read_text(model_of(dir, "one")));
  EXPECT_TRUE(read_text(dir.path() / "alone/checkpoint/optimizer.safetensors") ==
              read_text(dir.path() / "one/checkpoint/optimizer.safetensors"));
  CliResult two = run_mpi(2, "train --config " + file + " --set distributed.sync_batchnorm=true --output " + dir.str("two"));
  ASSERT_EQ(two.exit_code, 0) << two.output;
  const auto summary = nlohmann::json::parse(read_text(dir.path() / "two/summary.json"));
  EXPECT_EQ(summary["world_size"], 2);
  EXPECT_LT(summary["train"]["loss"].get<double>(), 1.3) << "chance is ln 4 = 1.39";
}

INSTANTIATE_TEST_SUITE_P(Modes, ApproximateModes, ::testing::Values("quantized", "fewbit", "randomized_trace"));

TEST(DistributedCli, SyncBatchNormMatchesOneRankAndPerRankStatisticsDoNot) {
  FRUGAL_SKIP_WITHOUT_MPI();
  TempDir dir("dp_sync_bn");
  CliResult one = run_frugal("train --config " + write(dir, "b32.json", bn_config(32)) + " --output " + dir.str("one"));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const std::string b16 = write(dir, "b16.json", bn_config(16));
  CliResult sync = run_mpi(2, "train --config " + b16 + " --set distributed.sync_batchnorm=true --output " + dir.str("sync"));
  ASSERT_EQ(sync.exit_code, 0) << sync.output;
  CliResult local = run_mpi(2, "train --config " + b16 + " --output " + dir.str("local"));
  ASSERT_EQ(local.exit_code, 0) << local.output;

  EXPECT_LT(max_relative_difference(model_of(dir, "sync"), model_of(dir, "one")), kTolerance);
  EXPECT_GT(max_relative_difference(model_of(dir, "local"), model_of(dir, "one")), 100 * kTolerance);
}

// ZeRO-1 and ZeRO-2 update the same elements with the same kernels from the same sums, so the weights
// and the (gathered) optimizer state are the same bits, in the same files.
TEST(DistributedCli, ShardedStateAndGradientsGiveTheUnshardedFiles) {
  FRUGAL_SKIP_WITHOUT_MPI();
  TempDir dir("dp_sharded");
  for (const char* optimizer : {"sgd", "adamw"}) {
    nlohmann::json c = dp_config("exact", 16);
    c["optimizer"]["name"] = optimizer;
    // Six layers of similar size on 4x4 inputs, one bucket each (chunks cut through parameters): no bucket
    // dominates, so ZeRO-2's two bucket slots plus the shard are smaller than all gradients.
    c["data"]["synthetic"]["shape"] = {1, 4, 4};
    c["model"]["hidden"] = {32, 32, 32, 32, 32};
    c["distributed"] = {{"bucket_mb", 0.002}};
    const std::string file = write(dir, std::string(optimizer) + ".json", c);
    const std::string base = dir.str(optimizer);
    for (const char* run : {"plain", "zero1", "zero2"}) {
      std::string sets;
      if (std::string(run) != "plain") sets += " --set distributed.shard_optimizer_state=true";
      if (std::string(run) == "zero2") sets += " --set distributed.shard_gradients=true";
      CliResult r = run_mpi(2, "train --config " + file + sets + " --output " + base + "_" + run);
      ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    for (const char* run : {"zero1", "zero2"})
      for (const char* f : {"model", "optimizer"}) {
        const std::string sharded = base + "_" + run + "/checkpoint/" + f + ".safetensors";
        EXPECT_TRUE(read_text(base + "_plain/checkpoint/" + f + ".safetensors") == read_text(sharded))
            << optimizer << " " << run << " " << f;
      }
    // The memory report shows the saving per rank.
    auto by_category = [&](const char* run) {
      return nlohmann::json::parse(read_text(base + "_" + run + "/memory.json"))["extra"]["per_rank"][1]["by_category"];
    };
    EXPECT_LT(by_category("zero1")["optimizer_state"].get<double>(), 0.6 * by_category("plain")["optimizer_state"].get<double>());
    EXPECT_LT(by_category("zero2")["gradients"].get<double>(), by_category("zero1")["gradients"].get<double>());
  }
}

// A Linear weight larger than a bucket (here 16384 of 17668 parameters, as the Fashion-MNIST CNN's fc
// holds 97% of its own) is reduced in pieces of rows as its backward computes them, so ZeRO-2 keeps
// slots of a piece instead of the whole layer and its gradients drop to about half (half, plus two slots
// of the largest bucket: here the 4 x 256 classifier, 6% of the model). The pieces are the whole
// gradient's bits: one rank is the single process bit for bit, two ranks match one rank of the whole
// batch (SGD, kTolerance as above), and the sharded runs write the unsharded files (AdamW, whose two
// moments of the split layer are gathered from one slice per piece).
TEST(DistributedCli, ALayerLargerThanABucketIsReducedInPiecesAndZero2HalvesItsGradients) {
  FRUGAL_SKIP_WITHOUT_MPI();
  TempDir dir("dp_pieces");
  auto config = [&](int batch, const char* optimizer) {
    nlohmann::json c = dp_config("exact", batch);
    c["model"]["hidden"] = {256};
    c["optimizer"]["name"] = optimizer;
    c["distributed"] = {{"bucket_mb", 0.002}};  // 524 floats: fc0 [256, 64] in 16 pieces of 16 rows
    return c;
  };
  CliResult one = run_frugal("train --config " + write(dir, "b32.json", config(32, "sgd")) + " --output " + dir.str("one"));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const std::string b16 = write(dir, "b16.json", config(16, "sgd"));
  CliResult alone = run_frugal("train --config " + b16 + " --output " + dir.str("alone"));
  ASSERT_EQ(alone.exit_code, 0) << alone.output;
  CliResult one_rank = run_mpi(1, "train --config " + b16 + " --output " + dir.str("one_rank"));
  ASSERT_EQ(one_rank.exit_code, 0) << one_rank.output;
  EXPECT_TRUE(read_text(model_of(dir, "alone")) == read_text(model_of(dir, "one_rank")));
  std::smatch buckets;
  ASSERT_TRUE(std::regex_search(one_rank.output, buckets, std::regex(R"(\((\d+) buckets)"))) << one_rank.output;
  EXPECT_GE(std::stoi(buckets[1].str()), 16) << one_rank.output;
  CliResult two = run_mpi(2, "train --config " + b16 + " --output " + dir.str("two"));
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_LT(max_relative_difference(model_of(dir, "two"), model_of(dir, "one")), kTolerance);

  const std::string adamw = write(dir, "adamw.json", config(16, "adamw"));
  for (const char* run : {"plain", "zero1", "zero2"}) {
    std::string sets;
    if (std::string(run) != "plain") sets += " --set distributed.shard_optimizer_state=true";
    if (std::string(run) == "zero2") sets += " --set distributed.shard_gradients=true";
    CliResult r = run_mpi(2, "train --config " + adamw + sets + " --output " + dir.str(run));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  for (const char* run : {"zero1", "zero2"})
    for (const char* f : {"model", "optimizer"})
      EXPECT_TRUE(read_text(dir.path() / "plain/checkpoint" / (std::string(f) + ".safetensors")) ==
                  read_text(dir.path() / run / "checkpoint" / (std::string(f) + ".safetensors")))
          << run << " " << f;
  auto category = [&](const char* run, const char* what) {
    return nlohmann::json::parse(read_text(dir.path() / run / "memory.json"))["extra"]["per_rank"][1]["by_category"][what]
        .get<double>();
  };
  EXPECT_LT(category("zero2", "gradients"), 0.65 * category("plain", "gradients"));
  EXPECT_LT(category("zero1", "optimizer_state"), 0.55 * category("plain", "optimizer_state"));
}

TEST(DistributedCli, MemDfaWithShardedGradientsGivesTheUnshardedWeights) {
  FRUGAL_SKIP_WITHOUT_MPI();
  TempDir dir("dp_mem_dfa_sharded");
  nlohmann::json c = dp_config("mem_dfa", 16);
  c["model"]["hidden"] = {32, 32, 32};
  const std::string file = write(dir, "c.json", c);
  CliResult plain = run_mpi(2, "train --config " + file + " --output " + dir.str("plain"));
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  CliResult zero2 = run_mpi(2, "train --config " + file +
                                   " --set distributed.shard_optimizer_state=true --set distributed.shard_gradients=true"
                                   " --output " + dir.str("zero2"));
  ASSERT_EQ(zero2.exit_code, 0) << zero2.output;
  EXPECT_TRUE(read_text(model_of(dir, "plain")) == read_text(model_of(dir, "zero2")));
}

// Each rank starts in a folder of its own and is given the same relative --output, so whatever rank 1
// wrote would land in its own folder: it stays empty, and rank 0's holds the whole run directory.
TEST(DistributedCli, OnlyRankZeroWritesTheRunDirectory) {
  FRUGAL_SKIP_WITHOUT_MPI();
  TempDir dir("dp_writer");
  nlohmann::json c = dp_config("exact", 16);
  c["train"]["epochs"] = 2;
  const std::string config = write(dir, "c.json", c);
  for (const char* rank : {"rank0", "rank1"}) fs::create_directories(dir.path() / rank);
  CliResult r = run_mpi_program(2, "sh -c 'cd " + dir.str("rank") + "$OMPI_COMM_WORLD_RANK && exec " + frugal_binary() +
                                       " train --config " + config + " --output run'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::is_empty(dir.path() / "rank1")) << "rank 1 wrote into its working directory";
  for (const char* f : {"config.json", "log.txt", "metrics.jsonl", "summary.json", "memory.json", "report.html",
                        "checkpoint/model.safetensors", "checkpoint/state.json"})
    EXPECT_TRUE(fs::exists(dir.path() / "rank0/run" / f)) << f;
  const auto summary = nlohmann::json::parse(read_text(dir.path() / "rank0/run/summary.json"));
  EXPECT_EQ(summary["world_size"], 2);
  // One line per epoch: rank 1 appended nothing.
  const std::string metrics = read_text(dir.path() / "rank0/run/metrics.jsonl");
  EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 2) << metrics;
}

TEST(DistributedCli, OnlyTrainRunsOnSeveralRanks) {
  FRUGAL_SKIP_WITHOUT_MPI();
  TempDir dir("dp_profile");
  CliResult r = run_mpi(2, "profile --config " + write(dir, "c.json", dp_config("exact", 16)) + " --output " + dir.str("p"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("only `frugal train` runs on several ranks"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace frugal::e2e
