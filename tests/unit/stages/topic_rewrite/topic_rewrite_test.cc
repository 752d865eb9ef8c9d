#include <gtest/gtest.h>

#include "config/diagnostics.h"
#include "config/loader.h"
#include "config/plan.h"
#include "config/yaml_params.h"
#include "pipeline/registry.h"
#include "pipeline/route_counters.h"
#include "stages/builtin.h"
#include "stages/topic_rewrite/config.h"
#include "tests/support/pipeline_fixtures.h"
#include "tests/unit/config/config_test_util.h"

namespace mqb::stages::topic_rewrite {
namespace {

using mqb::testing::CollectingEmitter;
using mqb::testing::CountingTracker;
using mqb::testing::TestMetrics;

pipeline::StageConfigPtr parse(const YAML::Node& params, const std::string& path,
                               config::Diagnostics& diag) {
  config::YamlParams view(params, "t.yaml", path, diag);
  return makeFactory()->parse(view);
}

pipeline::StagePtr make(const YAML::Node& params, pipeline::StageContext ctx = {}) {
  config::Diagnostics diag;
  auto cfg = parse(params, "s", diag);
  EXPECT_FALSE(diag.hasErrors()) << diag.str();
  return cfg ? makeFactory()->create(cfg, ctx) : nullptr;
}

pipeline::StagePtr make(const std::string& yaml, pipeline::StageContext ctx = {}) {
  return make(YAML::Load(yaml), ctx);
}

TEST(TopicRewriteStage, OmittedTargetKeepsTheMessagesOwnTopic) {
  auto s = make("{type: topic_rewrite}");
  CollectingEmitter out;
  s->process(mqb::testing::makeMessage("my-topic/foo"), out);
  ASSERT_EQ(out.out.size(), 1u);
  EXPECT_EQ(out.out[0].topic, "my-topic/foo");
}

TEST(TopicRewriteStage, StaticTargetReplacesTheTopic) {
  auto s = make("{type: topic_rewrite, target: factory/telemetry}");
  CollectingEmitter out;
  s->process(mqb::testing::makeMessage("telemetry/a/b"), out);
  ASSERT_EQ(out.out.size(), 1u);
  EXPECT_EQ(out.out[0].topic, "factory/telemetry");
}

TEST(TopicRewriteStage, TemplateTakesLevelsOfTheSourceTopic) {
  auto s = make("{type: topic_rewrite, target: 'factory/{1}/{3-#}'}");
  CollectingEmitter out;
  s->process(mqb::testing::makeMessage("plant/x/dev/temp", "p"), out);
  ASSERT_EQ(out.out.size(), 1u);
  EXPECT_EQ(out.out[0].topic, "factory/plant/dev/temp");
  EXPECT_EQ(out.out[0].payload, "p");
}

TEST(TopicRewriteStage, UnresolvableTemplateDropsCountedAndSettled) {
  TestMetrics tm;
  pipeline::RouteCounters counters(&tm.route);
  pipeline::StageContext ctx;
  ctx.counters = &counters;
  auto s = make("{type: topic_rewrite, target: 'f/{3}'}", ctx);
  CountingTracker tracker;
  CollectingEmitter out;
  auto m = mqb::testing::makeMessage("a/b");
  m.completion = pipeline::Completion(&tracker, 1);
  s->process(std::move(m), out);
  EXPECT_TRUE(out.out.empty());
  EXPECT_EQ(tm.dropped(metrics::DropReason::Template), 1.0);
  EXPECT_EQ(tracker.count(pipeline::Outcome::Dropped), 1u);
  EXPECT_EQ(static_cast<TopicRewriteStage&>(*s).unresolved(), 1u);
}

TEST(TopicRewriteStage, DoubledBracesInARoutesTargetAreLiteralBraces) {
  // The loader validates a route's target and the stage resolves it with the same parser: {{ and
  // }} are literal braces in both.
  const std::string yaml = std::string(config::testing::kBaseConnector) + "---\n" +
                           config::testing::kBaseTopicMap + "      target: 'a/{{x}}/{1}'\n";
  const config::LoadResult r = config::loadText(yaml, "t.yaml", {});
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  const config::RouteSpec& route = r.config->topicMaps.at(0).routes.at(0);
  ASSERT_EQ(route.target, "a/{{x}}/{1}");
  const config::StageSpec implicit = config::stageChain(nullptr, route).at(0);
  ASSERT_EQ(implicit.type, "topic_rewrite");
  auto s = make(implicit.params);
  ASSERT_TRUE(s);
  CollectingEmitter out;
  s->process(mqb::testing::makeMessage("plant/line3/temp"), out);
  ASSERT_EQ(out.out.size(), 1u);
  EXPECT_EQ(out.out[0].topic, "a/{x}/plant");
}

TEST(TopicRewriteConfig, BadTemplateIsReportedAtTheTargetWithFileLineColumn) {
  config::Diagnostics diag;
  auto cfg = parse(YAML::Load("type: topic_rewrite\ntarget: 'a/{9-2}'\n"),
                   "spec.routes[0].stages[0]", diag);
  EXPECT_EQ(cfg, nullptr);
  EXPECT_EQ(diag.str(),
            "t.yaml:2:9: error: spec.routes[0].stages[0].target: invalid target \"a/{9-2}\": "
            "invalid placeholder \"{9-2}\" at column 3: range ends before it starts\n");
}

TEST(TopicRewriteConfig, UnknownParameterIsReported) {
  config::Diagnostics diag;
  auto cfg = parse(YAML::Load("type: topic_rewrite\ntarget: a\ntargte: b\n"), "s", diag);
  EXPECT_EQ(cfg, nullptr);
  ASSERT_EQ(diag.all().size(), 1u);
  EXPECT_EQ(diag.all()[0].path, "s.targte");
}

}  // namespace
}  // namespace mqb::stages::topic_rewrite
