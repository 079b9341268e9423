// The budget search's planner (training/budget/assignment_planner.h): exact bytes, and re-planning that
// reuses what did not change.
#include "training/budget/assignment_planner.h"

#include <gtest/gtest.h>

#include "training/budget/candidates.h"
#include "training/budget/mode_spec.h"
#include "training/executor.h"
#include "training/models/models.h"
#include "training/modes/registry.h"
#include "tests/training/config_sections.h"

namespace frugal {
namespace {

std::unique_ptr<Graph> resnet8() {
  const nlohmann::json model = {{"arch", "resnet"}, {"depth", 8}, {"width", 4}};
  return build_model(testing_support::validated_section("model", model), Shape{3, 8, 8}, 5, 1);
}

const std::vector<std::string> kSpecs = {"exact", "recompute", "quantized:bits=4", "fewbit:bits=1",
                                         "randomized_trace:probes=4"};

TEST(AssignmentPlanner, BytesAreTheExecutorsPlan) {
  auto g = resnet8();
  CandidateSet c(*g, kSpecs, 1);
  AssignmentPlanner planner(*g, c, 6, 5, 1);
  for (const std::string& spec : kSpecs) {
    const Assignment a = c.uniform(spec);
    ASSERT_FALSE(a.empty()) << spec;
    const PlannedAssignment& p = planner.evaluate(a, true);
    auto h = resnet8();  // a fresh graph, as a run would build it
    Executor ex(*h, testing_support::assign_modes(*h, {{"default", {{"mode", "exact"}}}, {"layers", c.backward_layers(a)}}, 1),
                "static", 5);
    const StepPlan& plan = ex.training_plan(6);
    EXPECT_EQ(p.live_peak, lower_bound_bytes(plan.step)) << spec;
    EXPECT_EQ(p.arena, ex.training_planner().predicted_peak_bytes()) << spec;
  }
}

TEST(AssignmentPlanner, KnownAssignmentsAreLookedUpNotPlanned) {
  auto g = resnet8();
  CandidateSet c(*g, kSpecs, 1);
  AssignmentPlanner planner(*g, c, 6, 5, 1);
  const Assignment exact = c.all_exact();
  planner.evaluate(exact, true);
  const auto after_first = planner.stats();
  EXPECT_EQ(after_first.plans_built, 1u);
  EXPECT_EQ(after_first.arenas_placed, 1u);
  planner.evaluate(exact, true);
  EXPECT_EQ(planner.stats().plans_built, 1u);
  EXPECT_EQ(planner.stats().arenas_placed, 1u);
  EXPECT_EQ(planner.stats().lookups, 2u);
}

TEST(AssignmentPlanner, OneChangedLayerMakesOneModeAndOnePlan) {
  auto g = resnet8();
  CandidateSet c(*g, kSpecs, 1);
  AssignmentPlanner planner(*g, c, 6, 5, 1);
  const Assignment exact = c.all_exact();
  planner.evaluate(exact);
  const uint64_t modes = planner.stats().modes_made, plans = planner.stats().plans_built;
  EXPECT_EQ(modes, static_cast<uint64_t>(g->size()));
  Assignment one = exact;
  const int bn = g->find("layer1.0.bn1");
  one[bn] = c.find(bn, "recompute");
  ASSERT_GT(one[bn], 0);
  planner.evaluate(one);
  EXPECT_EQ(planner.stats().modes_made, modes + 1);  // the other layers' instances are reused
  EXPECT_EQ(planner.stats().plans_built, plans + 1);
  planner.evaluate(exact);  // back: nothing new
  planner.evaluate(one);
  EXPECT_EQ(planner.stats().modes_made, modes + 1);
  EXPECT_EQ(planner.stats().plans_built, plans + 1);
  EXPECT_LT(planner.evaluate(one).live_peak, planner.evaluate(exact).live_peak + 1);
}

TEST(CandidateSet, QuantizedConvNeedsItsReluQuantizedWithTheSameBits) {
  auto g = resnet8();
  CandidateSet c(*g, {"exact", "quantized:bits=4", "quantized:bits=2"}, 1);
  const int conv = g->find("layer1.0.conv2"), relu = g->find("layer1.0.relu1"), bn = g->find("layer1.0.bn1");
  Assignment a = c.all_exact();
  a[conv] = c.find(conv, "quantized:bits=4");
  EXPECT_FALSE(c.valid(a));
  ASSERT_TRUE(c.repair(a, conv));
  EXPECT_EQ(c.chosen(a, relu).spec, "quantized:bits=4");
  a[bn] = c.find(bn, "quantized:bits=2");  // the ReLU would read the BN's 2-bit code
  EXPECT_FALSE(c.valid(a));
  EXPECT_EQ(c.find(g->find("conv1"), "quantized:bits=4"), -1) << "the stem conv reads the image: no code";
}

TEST(CandidateSet, UniformAssignmentsBuildAsTheDefaultWould) {
  auto g = resnet8();
  CandidateSet c(*g, kSpecs, 1);
  for (const char* spec : {"quantized:bits=4", "randomized_trace:probes=4", "recompute"}) {
    const Assignment a = c.uniform(spec);
    auto h = resnet8();
    nlohmann::json def = {{"default", parse_mode_spec(spec, "test")}};
    auto by_default = testing_support::assign_modes(*h, def, 1);
    auto by_layers = testing_support::assign_modes(*h, {{"layers", c.backward_layers(a)}}, 1);
    std::vector<BackwardMode*> d, l;
    for (auto& m : by_default) d.push_back(m.get());
    for (auto& m : by_layers) l.push_back(m.get());
    for (int i = 0; i < h->size(); ++i) {
      by_default[i]->link(*h, i, d);
      by_layers[i]->link(*h, i, l);
    }
    // A default that cannot serve a layer falls back to exact there, as the explicit entry says.
    auto effective = [](const std::string& d) { return d == "exact (fallback)" ? std::string("exact") : d; };
    for (int i = 0; i < h->size(); ++i)
      EXPECT_EQ(effective(by_default[i]->describe()), by_layers[i]->describe()) << spec << " on " << h->layer(i).name();
  }
}

}  // namespace
}  // namespace frugal
