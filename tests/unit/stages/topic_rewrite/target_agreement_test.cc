// A route's `target` and an explicit topic_rewrite stage read the same template syntax: both are
// loaded from one configuration, run through their route graphs, and must give the same topics,
// in particular for {{ and }} (literal braces), and reject the same bad templates.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.h"
#include "config/plan.h"
#include "pipeline/graph_builder.h"
#include "pipeline/registry.h"
#include "tests/support/pipeline_fixtures.h"
#include "tests/unit/config/config_test_util.h"

namespace mqb::stages::topic_rewrite {
namespace {

using mqb::testing::RecordingSink;

/// A topic map of two routes: `by-target` with `target: byTarget`, `by-stage` with an explicit
/// topic_rewrite stage of target `byStage`.
std::string twoRoutes(const std::string& byTarget, const std::string& byStage) {
  return std::string(config::testing::kBaseConnector) + R"(---
apiVersion: mq.iotoperations.azure.com/v1beta1
kind: MqttBridgeTopicMap
metadata:
  name: map
spec:
  mqttBridgeConnectorRef: bridge
  routes:
    - name: by-target
      direction: local-to-remote
      source: a/#
      target: ')" +
         byTarget + R"('
    - name: by-stage
      direction: local-to-remote
      source: b/#
      stages:
        - type: topic_rewrite
          target: ')" +
         byStage + "'\n";
}

/// The topics route `route` of `connector` gives `topics`, through the graph the bridge builds.
std::vector<std::string> rewrite(const config::ConnectorSpec& connector,
                                 const config::RouteSpec& route,
                                 const std::vector<std::string>& topics) {
  config::Diagnostics diag;
  pipeline::RouteGraphSpec spec;
  spec.route = &route;
  spec.stages =
      pipeline::Registry::builtin().parseStages(config::stageChain(&connector, route), diag);
  auto sink = std::make_unique<RecordingSink>();
  RecordingSink& recorded = *sink;
  spec.sinks.push_back(std::move(sink));
  auto graph = pipeline::RouteGraph::build(std::move(spec), diag);
  if (!graph) {
    ADD_FAILURE() << diag.str();
    return {};
  }
  graph->start();
  pipeline::Batch batch;
  for (const auto& t : topics) {
    batch.push_back(mqb::testing::makeMessage(t));
  }
  EXPECT_TRUE(mqb::testing::waitFor([&] { return graph->tryPush(0, batch); }));
  EXPECT_TRUE(mqb::testing::waitFor([&] { return recorded.received() == topics.size(); }));
  graph->stop(std::chrono::seconds(5));
  return recorded.topics();
}

TEST(TopicRewriteTargetAgreement, RouteTargetAndExplicitStageGiveTheSameTopics) {
  struct Case {
    const char* tmpl;
    std::vector<std::string> expected;  ///< for plant/line3/temp, then x/y
  };
  const std::vector<Case> cases = {
      {"a/{{x}}/{1}", {"a/{x}/plant", "a/{x}/x"}},
      {"{{{1}}}", {"{plant}", "{x}"}},
      {"a/}}{{", {"a/}{", "a/}{"}},
      {"q/{{}}/{2-#}", {"q/{}/line3/temp", "q/{}/y"}},
      {"{{a}}{2}{{b}}/{#}", {"{a}line3{b}/plant/line3/temp", "{a}y{b}/x/y"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.tmpl);
    const config::LoadResult r = config::loadText(twoRoutes(c.tmpl, c.tmpl), "t.yaml", {});
    ASSERT_TRUE(r.ok()) << r.diagnostics.str();
    const auto& routes = r.config->topicMaps.at(0).routes;
    ASSERT_EQ(routes.size(), 2u);
    ASSERT_EQ(routes[0].target, std::string(c.tmpl));
    ASSERT_EQ(routes[1].stages.size(), 1u);
    const config::ConnectorSpec& connector = r.config->connectors.at(0);
    const std::vector<std::string> in = {"plant/line3/temp", "x/y"};
    const auto byTarget = rewrite(connector, routes[0], in);
    EXPECT_EQ(byTarget, c.expected);
    EXPECT_EQ(rewrite(connector, routes[1], in), byTarget);
  }
}

TEST(TopicRewriteTargetAgreement, RouteTargetAndExplicitStageRejectTheSameTemplates) {
  for (const char* bad : {"a/{{1}", "a/}", "a/{1}}/b", "{{{", "a/{1", "a/{{x}}/+", "{{#}}/{#}"}) {
    SCOPED_TRACE(bad);
    // The loader checks a route's target ...
    const config::LoadResult byTarget = config::loadText(twoRoutes(bad, "ok"), "t.yaml", {});
    ASSERT_FALSE(byTarget.ok());
    const auto& targetErrors = byTarget.diagnostics.all();
    ASSERT_EQ(targetErrors.size(), 1u) << byTarget.diagnostics.str();
    EXPECT_EQ(targetErrors[0].path, "spec.routes[0].target");
    // ... and the stage's factory the stage's, with the same words.
    const config::LoadResult byStage = config::loadText(twoRoutes("ok", bad), "t.yaml", {});
    ASSERT_TRUE(byStage.ok()) << byStage.diagnostics.str();
    config::Diagnostics stageDiag;
    pipeline::Registry::builtin().parseStages(byStage.config->topicMaps.at(0).routes.at(1).stages,
                                              stageDiag);
    const auto& stageErrors = stageDiag.all();
    ASSERT_EQ(stageErrors.size(), 1u) << stageDiag.str();
    EXPECT_EQ(stageErrors[0].path, "spec.routes[1].stages[0].target");
    EXPECT_EQ(stageErrors[0].message, targetErrors[0].message);
  }
}

}  // namespace
}  // namespace mqb::stages::topic_rewrite
