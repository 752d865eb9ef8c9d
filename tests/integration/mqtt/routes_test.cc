// Route forms of the spec over two real brokers: static and omitted targets, # and + wildcards,
// both directions, shared subscriptions, v3.1.1 and v5, retain handling.

#include <map>
#include <set>

#include "tests/integration/mqtt/mqtt_test_util.h"

namespace mqb::test {
namespace {

class MqttRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(local_.start()) << local_.logText();
    ASSERT_TRUE(remote_.start()) << remote_.logText();
  }
  MosquittoBroker local_;
  MosquittoBroker remote_;
};

TEST_F(MqttRoutes, StaticTargetForwardsLocalToRemoteInOrder) {
  DirectRoute route(routeOptions(local_, remote_, "alerts", "factory/alerts"));
  route.start();
  ASSERT_TRUE(route.waitReady());
  TestClient sub(testClientFor(remote_, "remote-reader"));
  ASSERT_TRUE(sub.connect()) << sub.lastError();
  ASSERT_TRUE(sub.subscribe("#", 1));
  TestClient pub(testClientFor(local_, "local-writer"));
  ASSERT_TRUE(pub.connect()) << pub.lastError();
  ASSERT_TRUE(pub.publishMany("alerts", 50, "alert-"));

  ASSERT_TRUE(sub.waitForCount(50)) << sub.receivedCount();
  auto got = sub.received();
  ASSERT_EQ(got.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(got[i].topic, "factory/alerts");
    EXPECT_EQ(got[i].payload, cat("alert-", i));
    EXPECT_EQ(got[i].qos, 1);
    EXPECT_FALSE(got[i].retain);
  }
  EXPECT_TRUE(waitFor([&] { return route.metrics().forwarded() == 50; }));
  EXPECT_EQ(route.metrics().received(), 50);
  // Nothing more arrives (no duplicates, no loop).
  EXPECT_FALSE(sub.waitForCount(51, 300ms));
}

TEST_F(MqttRoutes, OmittedTargetKeepsTopicsWithHashWildcardRemoteToLocal) {
  DirectRoute route(routeOptions(remote_, local_, "commands/#", std::nullopt));
  route.start();
  ASSERT_TRUE(route.waitReady());
  TestClient sub(testClientFor(local_, "local-reader"));
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("#", 1));
  TestClient pub(testClientFor(remote_, "remote-writer"));
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("commands/factory", "c1", 1));
  ASSERT_TRUE(pub.publish("commands/factory/line/2", "c2", 1));
  ASSERT_TRUE(pub.publish("commands", "c3", 1));  // '#' also matches the parent level
  ASSERT_TRUE(pub.publish("other/commands", "no", 1));

  ASSERT_TRUE(sub.waitForCount(3));
  EXPECT_FALSE(sub.waitForCount(4, 300ms));
  auto got = sub.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].topic, "commands/factory");
  EXPECT_EQ(got[0].payload, "c1");
  EXPECT_EQ(got[1].topic, "commands/factory/line/2");
  EXPECT_EQ(got[1].payload, "c2");
  EXPECT_EQ(got[2].topic, "commands");
  EXPECT_EQ(got[2].payload, "c3");
}

TEST_F(MqttRoutes, PlusWildcardToStaticTarget) {
  DirectRoute route(routeOptions(local_, remote_, "telemetry/+/temp", "factory/telemetry"));
  route.start();
  ASSERT_TRUE(route.waitReady());
  TestClient sub(testClientFor(remote_, "remote-reader"));
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("#", 1));
  TestClient pub(testClientFor(local_, "local-writer"));
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("telemetry/a/temp", "21.5", 1));
  ASSERT_TRUE(pub.publish("telemetry/a/b/temp", "no", 1));  // '+' is one level
  ASSERT_TRUE(pub.publish("telemetry/b/temp", "22.0", 0));

  ASSERT_TRUE(sub.waitForCount(2));
  EXPECT_FALSE(sub.waitForCount(3, 300ms));
  auto got = sub.received();
  EXPECT_EQ(got[0].topic, "factory/telemetry");
  EXPECT_EQ(got[0].payload, "21.5");
  EXPECT_EQ(got[0].qos, 1);
  EXPECT_EQ(got[1].topic, "factory/telemetry");
  EXPECT_EQ(got[1].payload, "22.0");
  EXPECT_EQ(got[1].qos, 0);  // QoS 0 in, QoS 0 out
}

TEST_F(MqttRoutes, BothDirectionsAtOnce) {
  DirectRoute up(routeOptions(local_, remote_, "up/#", std::nullopt, "up"));
  DirectRoute down(routeOptions(remote_, local_, "down/#", std::nullopt, "down"));
  up.start();
  down.start();
  ASSERT_TRUE(up.waitReady());
  ASSERT_TRUE(down.waitReady());
  TestClient localClient(testClientFor(local_, "local-app"));
  TestClient remoteClient(testClientFor(remote_, "remote-app"));
  ASSERT_TRUE(localClient.connect());
  ASSERT_TRUE(remoteClient.connect());
  ASSERT_TRUE(localClient.subscribe("down/#", 1));
  ASSERT_TRUE(remoteClient.subscribe("up/#", 1));
  ASSERT_TRUE(localClient.publishMany("up/x", 30, "u"));
  ASSERT_TRUE(remoteClient.publishMany("down/y", 30, "d"));
  ASSERT_TRUE(remoteClient.waitForCount(30));
  ASSERT_TRUE(localClient.waitForCount(30));
  EXPECT_FALSE(remoteClient.waitForCount(31, 200ms));
  EXPECT_FALSE(localClient.waitForCount(31, 200ms));
  auto r = remoteClient.received();
  auto l = localClient.received();
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(r[i].topic, "up/x");
    EXPECT_EQ(r[i].payload, cat("u", i));
    EXPECT_EQ(l[i].topic, "down/y");
    EXPECT_EQ(l[i].payload, cat("d", i));
  }
}

TEST_F(MqttRoutes, SharedSubscriptionWithThreeClientsDeliversEachMessageOnce) {
  auto o = routeOptions(remote_, local_, "shared-sub-topic", "remote/topic", "shared");
  o.sourceOptions.shareGroup = "sub-group";
  o.branches = 3;
  DirectRoute route(std::move(o));
  route.start();
  ASSERT_TRUE(route.waitReady());
  for (const auto& s : route.sources()) {
    EXPECT_EQ(s->subscription(), "$share/sub-group/shared-sub-topic");
  }
  TestClient sub(testClientFor(local_, "local-reader"));
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("remote/topic", 1));
  TestClient pub(testClientFor(remote_, "remote-writer"));
  ASSERT_TRUE(pub.connect());
  const int n = 300;
  ASSERT_TRUE(pub.publishMany("shared-sub-topic", n, "s"));
  ASSERT_TRUE(sub.waitForCount(n)) << sub.receivedCount();
  EXPECT_FALSE(sub.waitForCount(n + 1, 300ms));
  std::multiset<std::string> payloads;
  for (const auto& m : sub.received()) {
    EXPECT_EQ(m.topic, "remote/topic");
    payloads.insert(m.payload);
  }
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(payloads.count(cat("s", i)), 1u) << i;
  }
  std::uint64_t total = 0;
  for (const auto& s : route.sources()) {
    EXPECT_GT(s->receivedCount(), 0u) << s->client().options().clientId;
    total += s->receivedCount();
  }
  EXPECT_EQ(total, static_cast<std::uint64_t>(n));
  // The brokers saw exactly the bridge's client IDs (plus the test clients).
  auto remoteIds = remote_.clientIdsSeen();
  EXPECT_TRUE(remoteIds.count("bridge-shared-sub-1") && remoteIds.count("bridge-shared-sub-2") &&
              remoteIds.count("bridge-shared-sub-3"));
  auto localIds = local_.clientIdsSeen();
  EXPECT_TRUE(localIds.count("bridge-shared-pub-1") && localIds.count("bridge-shared-pub-2") &&
              localIds.count("bridge-shared-pub-3"));
}

TEST_F(MqttRoutes, Mqtt311OnBothSides) {
  auto o = routeOptions(local_, remote_, "v3/#", std::nullopt, "v3", config::MqttVersion::V3);
  DirectRoute route(std::move(o));
  route.start();
  ASSERT_TRUE(route.waitReady());
  TestClient sub(testClientFor(remote_, "remote-reader", false));
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("v3/#", 1));
  TestClient pub(testClientFor(local_, "local-writer", false));
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publishMany("v3/t", 20, "p"));
  ASSERT_TRUE(pub.publish("v3/zero", "z", 0));
  ASSERT_TRUE(sub.waitForCount(21));
  auto got = sub.received();
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(got[i].topic, "v3/t");
    EXPECT_EQ(got[i].payload, cat("p", i));
    EXPECT_EQ(got[i].qos, 1);
  }
  EXPECT_EQ(got[20].topic, "v3/zero");
  EXPECT_EQ(got[20].qos, 0);
  EXPECT_NE(remote_.logText().find("as bridge-v3-pub (p2"), std::string::npos)
      << "the publisher must speak MQTT 3.1.1 (p2)";
}

TEST_F(MqttRoutes, RetainFlagKeptOrStripped) {
  DirectRoute keep(routeOptions(local_, remote_, "keep/#", std::nullopt, "keep"));
  auto o = routeOptions(local_, remote_, "strip/#", std::nullopt, "strip");
  o.sinkOptions.retain = config::RetainPolicy::Never;
  DirectRoute strip(std::move(o));
  keep.start();
  strip.start();
  ASSERT_TRUE(keep.waitReady());
  ASSERT_TRUE(strip.waitReady());
  TestClient pub(testClientFor(local_, "local-writer"));
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("keep/a", "kept", 1, true));
  ASSERT_TRUE(pub.publish("strip/a", "stripped", 1, true));
  ASSERT_TRUE(pub.publish("keep/b", "live", 1, false));
  ASSERT_TRUE(
      waitFor([&] { return keep.metrics().forwarded() == 2 && strip.metrics().forwarded() == 1; }));
  // A late subscriber on the remote sees only the retained message that kept its flag.
  TestClient late(testClientFor(remote_, "late-reader"));
  ASSERT_TRUE(late.connect());
  ASSERT_TRUE(late.subscribe("#", 1));
  ASSERT_TRUE(late.waitForCount(1));
  EXPECT_FALSE(late.waitForCount(2, 300ms));
  auto got = late.received();
  EXPECT_EQ(got[0].topic, "keep/a");
  EXPECT_EQ(got[0].payload, "kept");
  EXPECT_TRUE(got[0].retain);
}

}  // namespace
}  // namespace mqb::test
