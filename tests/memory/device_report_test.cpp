// The memory report's device section (filled on a GPU by training/memory_accounting.h): absent on the
// CPU; on a device, the plan's bytes beside the allocator's, the runtime's own bytes apart, and the
// driver's peak, in memory.json, on the terminal and in memory.html.
#include <gtest/gtest.h>

#include "memory/report.h"
#include "tests/memory/random_steps.h"

namespace frugal {
namespace {

MemoryReport report_with_device(size_t planned, size_t allocated) {
  const StepDescription step = training_like_step(3, 8);
  auto planner = make_planner("static");
  planner->plan(step);
  replay_step(*planner, step);
  MemoryReport r = build_memory_report(step, *planner, {});
  r.device.present = true;
  r.device.device = "cuda";
  r.device.planned_bytes = planned;
  r.device.stats.available = true;
  r.device.stats.allocated_bytes = allocated;
  r.device.stats.allocated_peak_bytes = allocated + 64;
  r.device.stats.allocations = 7;
  r.device.stats.allocated_by_category.assign(kNumMemoryCategories, 0);
  r.device.stats.allocated_by_category[static_cast<int>(MemoryCategory::Weights)] = allocated;
  r.device.stats.runtime_parts = {{"cuBLAS workspace", 32u << 20}, {"context (and other processes on the device)", 500u << 20}};
  r.device.stats.scratch_bytes = 32u << 20;
  r.device.stats.total_bytes = size_t{80} << 30;
  r.device.stats.peak_used_bytes = size_t{1} << 30;
  return r;
}

TEST(DeviceMemoryReport, AbsentOnTheCpu) {
  const StepDescription step = training_like_step(2, 4);
  auto planner = make_planner("static");
  planner->plan(step);
  const MemoryReport r = build_memory_report(step, *planner, {});
  EXPECT_FALSE(memory_report_json(r).contains("device"));
  EXPECT_EQ(memory_report_table(r).find("cuda"), std::string::npos);
}

TEST(DeviceMemoryReport, JsonHoldsThePlanTheAllocatorTheRuntimeAndTheDriver) {
  const nlohmann::json d = memory_report_json(report_with_device(1000, 1216)).at("device");
  EXPECT_EQ(d.at("device"), "cuda");
  EXPECT_EQ(d.at("planned_bytes"), 1000);
  EXPECT_EQ(d.at("allocated_bytes"), 1216);
  EXPECT_EQ(d.at("unplanned_bytes"), 216);
  EXPECT_EQ(d.at("allocated_peak_bytes"), 1280);
  EXPECT_EQ(d.at("allocations"), 7);
  EXPECT_EQ(d.at("allocated_by_category").at("weights"), 1216);
  EXPECT_EQ(d.at("runtime_bytes"), (32u << 20) + (500u << 20));
  EXPECT_EQ(d.at("runtime_scratch_bytes"), 32u << 20);
  EXPECT_EQ(d.at("runtime").at("cuBLAS workspace"), 32u << 20);
  EXPECT_EQ(d.at("driver_peak_used_bytes"), size_t{1} << 30);
  EXPECT_EQ(d.at("total_bytes"), size_t{80} << 30);
  // Fewer bytes allocated than planned (a naive planner between steps) reads as a negative difference.
  EXPECT_EQ(memory_report_json(report_with_device(1000, 640)).at("device").at("unplanned_bytes"), -360);
}

TEST(DeviceMemoryReport, TerminalAndHtmlShowTheDevice) {
  const MemoryReport same = report_with_device(4096, 4096);
  const std::string table = memory_report_table(same);
  EXPECT_NE(table.find("cuda planned"), std::string::npos) << table;
  EXPECT_NE(table.find("as planned"), std::string::npos) << table;
  EXPECT_NE(table.find("cuBLAS workspace"), std::string::npos) << table;
  EXPECT_NE(table.find("cuda peak used"), std::string::npos) << table;
  const std::string html = memory_report_html(report_with_device(4096, 8192));
  EXPECT_NE(html.find("cuda allocated"), std::string::npos);
  EXPECT_NE(html.find("vs the plan"), std::string::npos);
}

}  // namespace
}  // namespace frugal
