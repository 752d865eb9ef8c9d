#include <gtest/gtest.h>

#include <chrono>

#include "config/diagnostics.h"
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
  pipeline::StageContext ctx() {
    pipeline::StageContext c;
    c.clock = &clock;
    c.metrics = &tm.route;
    return c;
  }
};

TEST(RateLimit, BurstPassesThenMessagesAreSpacedAtTheRate) {
  Fixture f;
  Limits l;
  l.messagesPerSecond = 10;
  l.burstMessages = 3;
  RateLimit s(l, f.ctx());
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
  Limits l;
  l.messagesPerSecond = 10;
  l.burstMessages = 2;
  RateLimit s(l, f.ctx());
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
  Limits l;
  l.messagesPerSecond = 100;
  l.burstMessages = 1;
  RateLimit s(l, f.ctx());
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
  Limits l;
  l.bytesPerSecond = 1000;
  l.burstBytes = 100;
  RateLimit s(l, f.ctx());
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
  Limits l;
  l.messagesPerSecond = 1000;
  l.burstMessages = 1;
  l.bytesPerSecond = 1000;
  l.burstBytes = 1;
  RateLimit s(l, f.ctx());
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
  RateLimit s(Limits{}, f.ctx());
  CollectingEmitter out;
  for (int i = 0; i < 1000; ++i) {
    s.process(mqb::testing::makeMessage("t"), out);
  }
  for (const auto& m : out.out) {
    ASSERT_EQ(m.notBefore, pipeline::SteadyTime{});
  }
}

TEST(RateLimitConfig, FactoryWithoutParametersUsesTheConnectorsLimit) {
  Fixture f;
  config::ConnectorSpec c;
  c.rateLimit = config::RateLimitSpec{10, 0, 1, 0};
  auto route = mqb::testing::makeRoute("r");
  config::Diagnostics diag;
  auto fac = makeFactory();
  auto cfg = fac->parse(YAML::Load("{type: rate_limit}"), "t.yaml", "s", diag);
  ASSERT_TRUE(cfg) << diag.str();
  auto ctx = f.ctx();
  ctx.connector = &c;
  ctx.route = &route;
  auto s = fac->create(cfg, ctx);
  CollectingEmitter out;
  s->process(mqb::testing::makeMessage("t"), out);
  s->process(mqb::testing::makeMessage("t"), out);
  EXPECT_NEAR(delayMs(out.out[1], f.clock), 100, 1e-3);
}

TEST(RateLimitConfig, BurstWithoutRateIsReported) {
  config::Diagnostics diag;
  auto cfg =
      makeFactory()->parse(YAML::Load("type: rate_limit\nburstMessages: 3\n"), "t.yaml", "s", diag);
  EXPECT_EQ(cfg, nullptr);
  EXPECT_EQ(diag.str(),
            "t.yaml:1:1: error: s: needs messagesPerSecond or bytesPerSecond (or both)\n"
            "t.yaml:2:16: error: s.burstMessages: only meaningful with messagesPerSecond\n");
}

TEST(RateLimitConfig, InvalidParametersAreReportedExactly) {
  config::Diagnostics diag;
  auto cfg = makeFactory()->parse(
      YAML::Load("type: rate_limit\nmessagesPerSecond: -5\nburstBytes: 10\n"), "t.yaml", "s", diag);
  EXPECT_EQ(cfg, nullptr);
  EXPECT_EQ(diag.str(),
            "t.yaml:2:20: error: s.messagesPerSecond: must be > 0, got -5\n"
            "t.yaml:3:13: error: s.burstBytes: only meaningful with bytesPerSecond\n");
}

}  // namespace
}  // namespace mqb::stages::rate_limit
