#include <gtest/gtest.h>

#include <chrono>

#include "config/diagnostics.h"
#include "config/plan.h"
#include "config/yaml_params.h"
#include "pipeline/route_counters.h"
#include "stages/rate_limit/config.h"
#include "stages/rate_limit/rate_limit.h"
#include "tests/support/pipeline_fixtures.h"

namespace mqb::stages::rate_limit {
namespace {

using namespace std::chrono_literals;
using mqb::testing::CollectingEmitter;

/// Delay (ms, relative to the clock's now) stamped on a message; 0 = not delayed.
double delayMs(const pipeline::Message& m, const pipeline::ManualClock& clock) {
  if (m.notBefore <= clock.now()) {
    return 0;
  }
  return std::chrono::duration<double, std::milli>(m.notBefore - clock.now()).count();
}

struct Fixture {
  pipeline::ManualClock clock;
  mqb::testing::TestMetrics tm;
  pipeline::RouteCounters counters{&tm.route};
  pipeline::StageContext ctx() {
    pipeline::StageContext c;
    c.clock = &clock;
    c.counters = &counters;
    return c;
  }
};

TEST(RateLimit, BurstPassesThenMessagesAreSpacedAtTheRate) {
  Fixture f;
  RateLimitConfig l;
  l.messagesPerSecond = 10;
  l.burstMessages = 3;
  RateLimitStage s(std::make_shared<RateLimitConfig>(l), f.ctx());
  CollectingEmitter out;
  for (int i = 0; i < 6; ++i) {
    s.process(mqb::testing::makeMessage("t"), out);
  }
  ASSERT_EQ(out.out.size(), 6u);  // never drops
  EXPECT_EQ(delayMs(out.out[0], f.clock), 0);
  EXPECT_EQ(delayMs(out.out[2], f.clock), 0);
  EXPECT_NEAR(delayMs(out.out[3], f.clock), 100, 1e-3);
  EXPECT_NEAR(delayMs(out.out[4], f.clock), 200, 1e-3);
  EXPECT_NEAR(delayMs(out.out[5], f.clock), 300, 1e-3);
  EXPECT_NEAR(f.tm.rateLimitWaitSeconds(), 0.6, 1e-6);
  EXPECT_NEAR(s.waitedSeconds(), 0.6, 1e-6);
}

TEST(RateLimit, IdleBucketRefillsUpToTheBurstOnly) {
  Fixture f;
  RateLimitConfig l;
  l.messagesPerSecond = 10;
  l.burstMessages = 2;
  RateLimitStage s(std::make_shared<RateLimitConfig>(l), f.ctx());
  CollectingEmitter out;
  s.process(mqb::testing::makeMessage("t"), out);
  f.clock.advance(10s);  // long idle: still only `burst` messages pass at once
  for (int i = 0; i < 3; ++i) {
    s.process(mqb::testing::makeMessage("t"), out);
  }
  EXPECT_EQ(delayMs(out.out[1], f.clock), 0);
  EXPECT_EQ(delayMs(out.out[2], f.clock), 0);
  EXPECT_NEAR(delayMs(out.out[3], f.clock), 100, 1e-3);
}

TEST(RateLimit, SteadyRateAtTheLimitIsNeverDelayed) {
  Fixture f;
  RateLimitConfig l;
  l.messagesPerSecond = 100;
  l.burstMessages = 1;
  RateLimitStage s(std::make_shared<RateLimitConfig>(l), f.ctx());
  CollectingEmitter out;
  for (int i = 0; i < 50; ++i) {
    s.process(mqb::testing::makeMessage("t"), out);
    EXPECT_EQ(delayMs(out.out.back(), f.clock), 0) << i;
    f.clock.advance(10ms);
  }
  EXPECT_EQ(f.tm.rateLimitWaitSeconds(), 0);
}

TEST(RateLimit, BytesPerSecondDelaysByPayloadSize) {
  Fixture f;
  RateLimitConfig l;
  l.bytesPerSecond = 1000;
  l.burstBytes = 100;
  RateLimitStage s(std::make_shared<RateLimitConfig>(l), f.ctx());
  CollectingEmitter out;
  s.process(mqb::testing::makeMessage("t", std::string(100, 'x')), out);  // the burst
  s.process(mqb::testing::makeMessage("t", std::string(50, 'x')), out);   // 50 B at 1000 B/s
  s.process(mqb::testing::makeMessage("t", std::string(200, 'x')), out);  // larger than burst
  EXPECT_EQ(delayMs(out.out[0], f.clock), 0);
  EXPECT_NEAR(delayMs(out.out[1], f.clock), 50, 1e-3);
  EXPECT_NEAR(delayMs(out.out[2], f.clock), 250, 1e-3);
}

TEST(RateLimit, BothDimensionsApplyAndStampsNeverGoBackwards) {
  Fixture f;
  RateLimitConfig l;
  l.messagesPerSecond = 1000;
  l.burstMessages = 1;
  l.bytesPerSecond = 1000;
  l.burstBytes = 1;
  RateLimitStage s(std::make_shared<RateLimitConfig>(l), f.ctx());
  CollectingEmitter out;
  s.process(mqb::testing::makeMessage("t", std::string(1, 'x')), out);
  s.process(mqb::testing::makeMessage("t", std::string(100, 'x')), out);  // bytes: +100 ms
  s.process(mqb::testing::makeMessage("t", std::string(1, 'x')), out);    // after the previous
  EXPECT_EQ(delayMs(out.out[0], f.clock), 0);
  EXPECT_NEAR(delayMs(out.out[1], f.clock), 100, 1e-3);
  EXPECT_GE(out.out[2].notBefore, out.out[1].notBefore);
}

TEST(RateLimit, DisabledLimitsPassUntouched) {
  Fixture f;
  RateLimitStage s(std::make_shared<RateLimitConfig>(RateLimitConfig{}), f.ctx());
  CollectingEmitter out;
  for (int i = 0; i < 1000; ++i) {
    s.process(mqb::testing::makeMessage("t"), out);
  }
  for (const auto& m : out.out) {
    ASSERT_EQ(m.notBefore, pipeline::SteadyTime{});
  }
}

/// The second of two messages through the stage built from `spec`: its delay in ms.
double secondDelayMs(const config::StageSpec& spec) {
  Fixture f;
  config::Diagnostics diag;
  config::YamlParams params(spec.params, "t.yaml", spec.path, diag);
  auto fac = makeFactory();
  auto cfg = fac->parse(params);
  EXPECT_TRUE(cfg) << diag.str();
  if (!cfg) {
    return -1;
  }
  auto s = fac->create(cfg, f.ctx());
  CollectingEmitter out;
  s->process(mqb::testing::makeMessage("t"), out);
  s->process(mqb::testing::makeMessage("t"), out);
  return delayMs(out.out[1], f.clock);
}

TEST(RateLimitConfig, TheRoutesChainCarriesTheConnectorsLimitAsParameters) {
  config::ConnectorSpec c;
  c.rateLimit = config::RateLimitSpec{10, 0, 1, 0};
  auto route = mqb::testing::makeRoute("r");
  route.stages.push_back({"rate_limit", YAML::Load("{type: rate_limit}"), "r.stages[0]", {}});
  const auto chain = config::stageChain(&c, route);
  ASSERT_EQ(chain.size(), 4u);
  EXPECT_EQ(chain[2].type, "rate_limit");
  EXPECT_NEAR(secondDelayMs(chain[2]), 100, 1e-3);
  // The route's own rate_limit without parameters takes the same limits.
  EXPECT_NEAR(secondDelayMs(chain[3]), 100, 1e-3);
  // The route's own limit wins over the connector's; none at all leaves the stage a no-op.
  route.rateLimit = config::RateLimitSpec{4, 0, 1, 0};
  EXPECT_NEAR(secondDelayMs(config::stageChain(&c, route)[2]), 250, 1e-3);
  route.rateLimit.reset();
  EXPECT_EQ(secondDelayMs(config::stageChain(nullptr, route)[2]), 0);
}

TEST(RateLimitConfig, BurstWithoutRateIsReported) {
  config::Diagnostics diag;
  config::YamlParams params(YAML::Load("type: rate_limit\nburstMessages: 3\n"), "t.yaml", "s",
                            diag);
  auto cfg = makeFactory()->parse(params);
  EXPECT_EQ(cfg, nullptr);
  EXPECT_EQ(diag.str(),
            "t.yaml:1:1: error: s: needs messagesPerSecond or bytesPerSecond (or both)\n"
            "t.yaml:2:16: error: s.burstMessages: only meaningful with messagesPerSecond\n");
}

TEST(RateLimitConfig, InvalidParametersAreReportedExactly) {
  config::Diagnostics diag;
  config::YamlParams params(YAML::Load("type: rate_limit\nmessagesPerSecond: -5\nburstBytes: 10\n"),
                            "t.yaml", "s", diag);
  auto cfg = makeFactory()->parse(params);
  EXPECT_EQ(cfg, nullptr);
  EXPECT_EQ(diag.str(),
            "t.yaml:2:20: error: s.messagesPerSecond: must be > 0, got -5\n"
            "t.yaml:3:13: error: s.burstBytes: only meaningful with bytesPerSecond\n");
}

}  // namespace
}  // namespace mqb::stages::rate_limit
