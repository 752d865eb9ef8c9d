#include <gtest/gtest.h>

#include "config/diagnostics.h"
#include "stages/qos/config.h"
#include "tests/support/pipeline_fixtures.h"

namespace mqb::stages::qos {
namespace {

TEST(QosStage, SetsTheRoutesQos) {
  config::Diagnostics diag;
  auto f = makeFactory();
  auto cfg = f->parse(YAML::Load("{type: qos}"), "t.yaml", "s", diag);
  ASSERT_TRUE(cfg) << diag.str();
  auto route = mqb::testing::makeRoute("r", 1, std::nullopt, 0);
  pipeline::StageContext ctx;
  ctx.route = &route;
  auto s = f->create(cfg, ctx);
  mqb::testing::CollectingEmitter out;
  auto m = mqb::testing::makeMessage("t");
  m.qos = 1;
  s->process(std::move(m), out);
  ASSERT_EQ(out.out.size(), 1u);
  EXPECT_EQ(out.out[0].qos, 0);
}

TEST(QosStage, ExplicitParameterOverridesTheRoute) {
  config::Diagnostics diag;
  auto f = makeFactory();
  auto cfg = f->parse(YAML::Load("{type: qos, qos: 1}"), "t.yaml", "s", diag);
  ASSERT_TRUE(cfg) << diag.str();
  auto route = mqb::testing::makeRoute("r", 1, std::nullopt, 0);
  pipeline::StageContext ctx;
  ctx.route = &route;
  mqb::testing::CollectingEmitter out;
  f->create(cfg, ctx)->process(mqb::testing::makeMessage("t"), out);
  ASSERT_EQ(out.out.size(), 1u);
  EXPECT_EQ(out.out[0].qos, 1);
}

TEST(QosConfig, OutOfRangeIsReportedExactly) {
  config::Diagnostics diag;
  auto cfg = makeFactory()->parse(YAML::Load("type: qos\nqos: 2\n"), "t.yaml", "s", diag);
  EXPECT_EQ(cfg, nullptr);
  EXPECT_EQ(diag.str(), "t.yaml:2:6: error: s.qos: must be between 0 and 1, got 2\n");
}

}  // namespace
}  // namespace mqb::stages::qos
