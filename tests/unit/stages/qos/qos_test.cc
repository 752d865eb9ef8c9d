#include <gtest/gtest.h>

#include "config/diagnostics.h"
#include "config/plan.h"
#include "config/yaml_params.h"
#include "stages/qos/config.h"
#include "tests/support/pipeline_fixtures.h"

namespace mqb::stages::qos {
namespace {

/// The QoS a message leaves with, through the stage built from `spec`.
int qosThrough(const config::StageSpec& spec) {
  config::Diagnostics diag;
  config::YamlParams params(spec.params, "t.yaml", spec.path, diag);
  auto f = makeFactory();
  auto cfg = f->parse(params);
  EXPECT_TRUE(cfg) << diag.str();
  if (!cfg) {
    return -1;
  }
  mqb::testing::CollectingEmitter out;
  auto m = mqb::testing::makeMessage("t");
  m.qos = 1;
  f->create(cfg, pipeline::StageContext{})->process(std::move(m), out);
  EXPECT_EQ(out.out.size(), 1u);
  return out.out.empty() ? -1 : out.out[0].qos;
}

TEST(QosStage, TheRoutesChainSetsTheRoutesQos) {
  auto route = mqb::testing::makeRoute("r", 1, std::nullopt, 0);
  route.stages.push_back({"qos", YAML::Load("{type: qos}"), "r.stages[0]", {}});
  const auto chain = config::stageChain(nullptr, route);
  ASSERT_EQ(chain.size(), 4u);
  EXPECT_EQ(chain[1].type, "qos");
  EXPECT_EQ(qosThrough(chain[1]), 0);
  // The route's own qos stage without parameters takes the route's qos too.
  EXPECT_EQ(qosThrough(chain[3]), 0);
}

TEST(QosStage, ExplicitParameterOverridesTheRoute) {
  auto route = mqb::testing::makeRoute("r", 1, std::nullopt, 0);
  route.stages.push_back({"qos", YAML::Load("{type: qos, qos: 1}"), "r.stages[0]", {}});
  EXPECT_EQ(qosThrough(config::stageChain(nullptr, route)[3]), 1);
}

TEST(QosConfig, OutOfRangeIsReportedExactly) {
  config::Diagnostics diag;
  config::YamlParams params(YAML::Load("type: qos\nqos: 2\n"), "t.yaml", "s", diag);
  auto cfg = makeFactory()->parse(params);
  EXPECT_EQ(cfg, nullptr);
  EXPECT_EQ(diag.str(), "t.yaml:2:6: error: s.qos: must be between 0 and 1, got 2\n");
}

}  // namespace
}  // namespace mqb::stages::qos
