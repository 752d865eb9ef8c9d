#include "stages/filter/filter.h"

#include <gtest/gtest.h>

#include "stages/filter/config.h"
#include "tests/unit/stages/stage_test_util.h"

namespace mqb::stages::filter {
namespace {

using metrics::DropReason;
using pipeline::Outcome;
using testing::Collect;
using testing::message;
using testing::TestMetrics;
using testing::Tracker;

const FilterFactory kFactory;

TEST(FilterStage, KeepForwardsMatchingTopicsAndFiltersTheRest) {
  TestMetrics m;
  auto stage = testing::build(kFactory, "type: filter\ntopic: [sensors/+/temp, alarms/#]\n", &m);
  ASSERT_TRUE(stage);
  Tracker t;
  Collect out;
  stage->process(message("sensors/a/temp", "1", &t, 1), out);
  stage->process(message("alarms", "2", &t, 2), out);
  stage->process(message("sensors/a/humidity", "3", &t, 3), out);
  ASSERT_EQ(out.out.size(), 2u);
  EXPECT_EQ(out.out[0].topic, "sensors/a/temp");
  EXPECT_EQ(out.out[1].topic, "alarms");
  EXPECT_EQ(t.settled.at(3), Outcome::Filtered);
  EXPECT_EQ(t.settled.count(1), 0u);  // forwarded: not settled by the stage
  EXPECT_EQ(m.dropped(DropReason::Filtered), 1);
  EXPECT_EQ(m.dropped(DropReason::StageError), 0);
}

TEST(FilterStage, DropActionDropsWhatMatches) {
  TestMetrics m;
  auto stage =
      testing::build(kFactory, "type: filter\naction: drop\nuserProperty: {name: debug}\n", &m);
  Tracker t;
  Collect out;
  auto dbg = message("a", "x", &t, 1);
  dbg.props.user.push_back({"debug", ""});
  stage->process(std::move(dbg), out);
  stage->process(message("a", "y", &t, 2), out);
  ASSERT_EQ(out.out.size(), 1u);
  EXPECT_EQ(out.out[0].payload, "y");
  EXPECT_EQ(t.settled.at(1), Outcome::Filtered);
  EXPECT_EQ(m.dropped(DropReason::Filtered), 1);
}

TEST(FilterStage, UserPropertyValueMustMatchOneOfDuplicates) {
  auto stage =
      testing::build(kFactory, "type: filter\nuserProperty: {name: site, value: plant-b}\n");
  Collect out;
  auto a = message("t", "1");
  a.props.user = {{"site", "plant-a"}, {"site", "plant-b"}};
  auto b = message("t", "2");
  b.props.user = {{"site", "plant-a"}};
  stage->process(std::move(a), out);
  stage->process(std::move(b), out);
  ASSERT_EQ(out.out.size(), 1u);
  EXPECT_EQ(out.out[0].payload, "1");
}

TEST(FilterStage, JsonComparisonsByPointerAndDottedPath) {
  auto gt =
      testing::build(kFactory, "type: filter\njson: {field: /sensor/temp, op: \">\", value: 30}\n");
  auto eq = testing::build(kFactory,
                           "type: filter\njson: {field: sensor.state, op: \"==\", value: on}\n");
  auto ex = testing::build(kFactory, "type: filter\njson: {field: readings.1, op: exists}\n");
  auto pass = [](pipeline::Stage& s, const char* payload) {
    Collect out;
    s.process(message("t", payload), out);
    return out.out.size() == 1;
  };
  EXPECT_TRUE(pass(*gt, R"({"sensor":{"temp":30.5}})"));
  EXPECT_FALSE(pass(*gt, R"({"sensor":{"temp":30}})"));
  EXPECT_FALSE(pass(*gt, R"({"sensor":{"temp":"31"}})"));  // string vs number: no match
  EXPECT_FALSE(pass(*gt, R"({"sensor":{}})"));             // missing: no match
  EXPECT_TRUE(pass(*eq, R"({"sensor":{"state":"on"}})"));
  EXPECT_FALSE(pass(*eq, R"({"sensor":{"state":"off"}})"));
  EXPECT_TRUE(pass(*ex, R"({"readings":[1,2]})"));
  EXPECT_FALSE(pass(*ex, R"({"readings":[1]})"));
}

TEST(FilterStage, CompareFollowsJsonSemantics) {
  using Json = nlohmann::json;
  EXPECT_TRUE(compare(Json(1), Op::Eq, Json(1.0)));
  EXPECT_TRUE(compare(Json("b"), Op::Gt, Json("a")));
  EXPECT_TRUE(compare(Json(2), Op::Le, Json(2)));
  EXPECT_TRUE(compare(Json(-1), Op::Lt, Json(0.5)));
  EXPECT_FALSE(compare(Json(true), Op::Lt, Json(2)));
  EXPECT_TRUE(compare(Json(true), Op::Ne, Json(1)));
  EXPECT_TRUE(compare(Json(nullptr), Op::Eq, Json(nullptr)));
}

TEST(FilterStage, BadJsonIsDroppedAsStageErrorOrPassedAsConfigured) {
  TestMetrics m;
  auto drop = testing::build(kFactory, "type: filter\njson: {field: t, op: \">\", value: 1}\n", &m);
  auto pass = testing::build(
      kFactory, "type: filter\njson: {field: t, op: \">\", value: 1}\nonError: pass\n", &m);
  Tracker t;
  Collect out;
  drop->process(message("a", "not json", &t, 1), out);
  EXPECT_TRUE(out.out.empty());
  EXPECT_EQ(t.settled.at(1), Outcome::Dropped);
  EXPECT_EQ(m.dropped(DropReason::StageError), 1);
  pass->process(message("a", "not json", &t, 2), out);
  ASSERT_EQ(out.out.size(), 1u);
  EXPECT_EQ(out.out[0].payload, "not json");
  EXPECT_EQ(m.dropped(DropReason::StageError), 1);
  EXPECT_EQ(m.dropped(DropReason::Filtered), 0);
}

TEST(FilterStage, NonJsonPayloadOnAnotherTopicIsNotAnError) {
  TestMetrics m;
  auto stage = testing::build(
      kFactory, "type: filter\ntopic: json/#\njson: {field: ok, op: \"==\", value: true}\n", &m);
  Collect out;
  stage->process(message("binary/x", "\x01\x02"), out);
  EXPECT_TRUE(out.out.empty());
  EXPECT_EQ(m.dropped(DropReason::Filtered), 1);
  EXPECT_EQ(m.dropped(DropReason::StageError), 0);
}

TEST(FilterStage, WorksWithoutMetricsOrTracker) {
  auto stage = testing::build(kFactory, "type: filter\ntopic: a\n");
  Collect out;
  stage->process(message("b", "x"), out);
  EXPECT_TRUE(out.out.empty());
}

}  // namespace
}  // namespace mqb::stages::filter
