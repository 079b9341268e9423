#include "memory/report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "tests/memory/random_steps.h"

namespace frugal {
namespace {

MemoryReport sample_report(const std::string& planner_name = "static") {
  const StepDescription step = training_like_step(3, 8);
  auto planner = make_planner(planner_name);
  planner->plan(step);
  replay_step(*planner, step);
  return build_memory_report(step, *planner, {}, {{"model", "resnet<tiny>"}, {"batch_size", 32}});
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::filesystem::path fresh_dir(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("frugal_memory_test_" + name);
  std::filesystem::remove_all(dir);
  return dir;
}

TEST(MemoryReport, JsonHasEveryDocumentedKey) {
  const nlohmann::json j = memory_report_json(sample_report());
  for (const char* key :
       {"planner", "peak_bytes", "lower_bound_bytes", "measured_peak_bytes", "peak_rss_bytes", "peak_time",
        "peak_label", "by_category", "by_layer", "timeline", "extra"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["planner"], "static");
  EXPECT_EQ(j["extra"]["batch_size"], 32);
  for (const char* key :
       {"name", "kind", "mode", "activation_bytes", "stash_bytes", "param_bytes", "workspace_bytes"})
    EXPECT_TRUE(j["by_layer"][0].contains(key)) << key;
  for (const char* key : {"t", "label", "phase", "live"}) EXPECT_TRUE(j["timeline"][0].contains(key)) << key;
}

TEST(MemoryReport, ByCategoryAtPeakSumsToTheLiveBytesAtThePeak) {
  const MemoryReport r = sample_report();
  const nlohmann::json j = memory_report_json(r);
  size_t sum = 0;
  for (const auto& [name, bytes] : j["by_category"].items()) sum += bytes.get<size_t>();
  size_t live_at_peak = 0;
  for (const auto& [name, bytes] : j["timeline"][r.peak_time]["live"].items())
    live_at_peak += bytes.get<size_t>();
  EXPECT_EQ(sum, live_at_peak);
  EXPECT_EQ(sum, r.lower_bound_bytes) << "the planned peak time holds the lower bound";
  EXPECT_GE(r.peak_bytes, r.lower_bound_bytes);
  EXPECT_EQ(r.measured_peak_bytes, r.peak_bytes);
}

TEST(MemoryReport, TimelineHasOnePointPerScheduleEntry) {
  const MemoryReport r = sample_report();
  const nlohmann::json j = memory_report_json(r);
  ASSERT_EQ(j["timeline"].size(), r.schedule.size());
  EXPECT_EQ(j["timeline"][0]["label"], r.schedule[0].label);
  EXPECT_EQ(j["timeline"].back()["phase"], "optimizer");
}

TEST(MemoryReport, LayerRowsComeFromBufferLayersWhenNoneAreGiven) {
  const MemoryReport r = sample_report();
  ASSERT_EQ(r.by_layer.size(), 8u);
  EXPECT_EQ(r.by_layer[0].name, "layer0");
  EXPECT_GT(r.by_layer[0].stash_bytes, 0u);
  EXPECT_GT(r.by_layer[0].param_bytes, 0u);
  EXPECT_GT(r.by_layer[0].workspace_bytes, 0u);
}

TEST(MemoryReport, GivenLayerRowsAreKeptAsTheyAre) {
  const StepDescription step = training_like_step(3, 4);
  auto planner = make_planner("naive");
  planner->plan(step);
  const MemoryReport r = build_memory_report(step, *planner, {{"conv1", "Conv2d", "exact", 1, 2, 3, 4}});
  ASSERT_EQ(r.by_layer.size(), 1u);
  EXPECT_EQ(r.by_layer[0].mode, "exact");
  EXPECT_EQ(r.by_layer[0].total_bytes(), 10u);
}

TEST(MemoryReport, MeasuredTimelineComesFromTheProfilerWhenGiven) {
  const StepDescription step = training_like_step(3, 4);
  auto planner = make_planner("naive");
  planner->plan(step);
  MemoryProfiler profiler(step);
  for (const BufferSpec& b : step.buffers) profiler.record_acquire(b.id, 0);  // everything at once
  const MemoryReport r = build_memory_report(step, *planner, profiler, {});
  size_t everything = 0;
  for (const BufferSpec& b : step.buffers) everything += aligned_bytes(b.bytes);
  EXPECT_EQ(total_bytes(r.by_category_at_peak), everything);
  EXPECT_GT(everything, r.lower_bound_bytes);
}

TEST(MemoryReport, HtmlIsOneSelfContainedPage) {
  const std::string html = memory_report_html(sample_report("pool"));
  EXPECT_EQ(html.find("http"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  for (const char* part :
       {"<svg", "<polygon", "forward", "backward", "optimizer", "activations", "layer0", "pool"})
    EXPECT_NE(html.find(part), std::string::npos) << part;
}

TEST(MemoryReport, HtmlEscapesNamesFromTheModel) {
  const std::string html = memory_report_html(sample_report());
  EXPECT_EQ(html.find("resnet<tiny>"), std::string::npos);
  EXPECT_NE(html.find("resnet&lt;tiny&gt;"), std::string::npos);
}

TEST(MemoryReport, WriteCreatesBothFilesAndLeavesNoTemporaries) {
  const std::filesystem::path dir = fresh_dir("write") / "nested";
  const MemoryReport r = sample_report();
  write_memory_report(r, dir.string());
  write_memory_report(r, dir.string());  // overwriting is fine
  EXPECT_EQ(nlohmann::json::parse(read_file(dir / "memory.json")), memory_report_json(r));
  EXPECT_EQ(read_file(dir / "memory.html"), memory_report_html(r));
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files += entry.is_regular_file();
  EXPECT_EQ(files, 2);
  std::filesystem::remove_all(dir.parent_path());
}

TEST(MemoryReport, WriteFailureIsAnIoErrorNamingThePath) {
  const std::filesystem::path dir = fresh_dir("blocked");
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "file") << "not a directory";
  const std::string target = (dir / "file" / "run").string();
  try {
    write_memory_report(sample_report(), target);
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(target), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(MemoryReport, EmptyStepStillGivesAValidReport) {
  auto planner = make_planner("static");
  planner->plan(StepDescription{});
  const MemoryReport r = build_memory_report(StepDescription{}, *planner, {});
  EXPECT_EQ(r.peak_bytes, 0u);
  EXPECT_TRUE(memory_report_json(r)["timeline"].empty());
  EXPECT_NE(memory_report_html(r).find("empty schedule"), std::string::npos);
}

TEST(MemoryReport, TableNamesThePlannerThePeakAndTheCategories) {
  const std::string table = memory_report_table(sample_report());
  for (const char* part : {"static", "peak (planned)", "lower bound", "activations", "stash", "layer0"})
    EXPECT_NE(table.find(part), std::string::npos) << part << "\n" << table;
}

}  // namespace
}  // namespace frugal
