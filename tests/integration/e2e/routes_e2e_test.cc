// Every route form of the spec through the real `mqbridge run` binary, between two real brokers:
// static target, omitted target, `#` and `+` wildcards, both directions, a shared subscription
// with 3 clients; exact topics, payloads, QoS, retain flags and counts; the client IDs the
// brokers see are exactly those `mqbridge validate` prints. Also MQTT 3.1.1 on both sides.

#include "tests/integration/e2e/e2e_util.h"

namespace mqb::test::e2e {
namespace {

// The spec's route examples, named, in one topic map.
constexpr const char* kSpecRoutes = R"(    - direction: local-to-remote
      name: send-alerts
      source: alerts
      target: factory/alerts
    - direction: remote-to-local
      name: receive-commands
      source: commands/factory
    - direction: local-to-remote
      name: wildcard-source
      qos: 0
      source: telemetry/#
      target: factory/telemetry
    - direction: remote-to-local
      name: plus-source
      source: sensors/+/temperature
    - direction: local-to-remote
      name: target-same-as-source
      source: my-topic/#
    - direction: local-to-remote
      name: shared
      qos: 1
      source: shared-sub-topic
      target: remote/topic
      sharedSubscription:
        groupMinimumShareNumber: 3
        groupName: sub-group
)";

TEST(E2eRoutes, EverySpecRouteFormV5) {
  MosquittoBroker local, remote;
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start());
  BridgeRunner bridge;
  bridge.writeConfig("connector.yaml", connectorYaml("my-mqtt-bridge", "v5", "factory-gateway-",
                                                     plain(remote), plain(local)));
  bridge.writeConfig("topic-map.yaml", topicMapYaml("my-topic-map", "my-mqtt-bridge", kSpecRoutes));
  ASSERT_TRUE(bridge.start()) << bridge.log();

  TestClient remoteSub(clientOf(remote, "test-remote-sub"));
  TestClient localSub(clientOf(local, "test-local-sub"));
  TestClient localPub(clientOf(local, "test-local-pub"));
  TestClient remotePub(clientOf(remote, "test-remote-pub"));
  for (TestClient* c : {&remoteSub, &localSub, &localPub, &remotePub}) {
    ASSERT_TRUE(c->connect()) << c->lastError();
  }
  ASSERT_TRUE(remoteSub.subscribe("#", 1));
  ASSERT_TRUE(localSub.subscribe("#", 1));

  // local -> remote
  ASSERT_TRUE(localPub.publish("alerts", "fire", 1));
  ASSERT_TRUE(localPub.publish("telemetry/furnace/temperature", "t0", 1));
  ASSERT_TRUE(localPub.publish("telemetry/x", "t1", 1));
  ASSERT_TRUE(localPub.publish("my-topic/foo", "f", 1));
  ASSERT_TRUE(localPub.publish("my-topic/bar", "b", 0));
  ASSERT_TRUE(localPub.publishMany("shared-sub-topic", 60, "s"));
  // remote -> local
  ASSERT_TRUE(remotePub.publish("commands/factory", "start", 1));
  ASSERT_TRUE(remotePub.publish("sensors/a/temperature", "21", 1));
  ASSERT_TRUE(remotePub.publish("sensors/a/humidity", "40", 1));      // not matched
  ASSERT_TRUE(remotePub.publish("sensors/b/c/temperature", "x", 1));  // not matched
  ASSERT_TRUE(remotePub.publish("sensors/b/temperature", "22", 1));

  ASSERT_TRUE(waitOn(remoteSub, "remote/topic", 60)) << on(remoteSub, "remote/topic").size();
  ASSERT_TRUE(waitOn(remoteSub, "factory/alerts", 1));
  ASSERT_TRUE(waitOn(remoteSub, "factory/telemetry", 2));
  ASSERT_TRUE(waitOn(remoteSub, "my-topic/bar", 1));
  ASSERT_TRUE(waitOn(localSub, "sensors/b/temperature", 1));
  ASSERT_TRUE(waitOn(localSub, "commands/factory", 1));
  // Everything expected arrived; give stragglers (duplicates, unmatched) no chance to hide: the
  // last message of each direction was published last, so anything else would be here by now
  // except on the shared route, whose count is checked exactly below after the metrics settle.

  auto alerts = on(remoteSub, "factory/alerts");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].payload, "fire");
  EXPECT_EQ(alerts[0].qos, 1);
  EXPECT_FALSE(alerts[0].retain);
  auto tele = on(remoteSub, "factory/telemetry");
  EXPECT_EQ(payloads(tele), (std::vector<std::string>{"t0", "t1"}));
  for (auto& m : tele) {
    EXPECT_EQ(m.qos, 0) << "route qos 0";
  }
  EXPECT_EQ(payloads(on(remoteSub, "my-topic/foo")), std::vector<std::string>{"f"});
  auto bar = on(remoteSub, "my-topic/bar");
  ASSERT_EQ(payloads(bar), std::vector<std::string>{"b"});
  EXPECT_EQ(bar[0].qos, 1) << "published at QoS 0, forwarded at the route's QoS 1";
  EXPECT_TRUE(on(remoteSub, "telemetry/furnace/temperature").empty());
  EXPECT_TRUE(on(remoteSub, "alerts").empty());

  auto cmds = on(localSub, "commands/factory");
  ASSERT_EQ(payloads(cmds), std::vector<std::string>{"start"});
  EXPECT_EQ(cmds[0].qos, 1);
  EXPECT_EQ(payloads(on(localSub, "sensors/a/temperature")), std::vector<std::string>{"21"});
  EXPECT_EQ(payloads(on(localSub, "sensors/b/temperature")), std::vector<std::string>{"22"});
  EXPECT_TRUE(on(localSub, "sensors/a/humidity").empty());
  EXPECT_TRUE(on(localSub, "sensors/b/c/temperature").empty());

  // Shared subscription: every message exactly once, and all three clients carried traffic.
  auto shared = on(remoteSub, "remote/topic");
  std::set<std::string> distinct;
  for (auto& m : shared) {
    distinct.insert(m.payload);
    EXPECT_EQ(m.qos, 1);
  }
  EXPECT_EQ(shared.size(), 60u);
  EXPECT_EQ(distinct.size(), 60u);
  ASSERT_TRUE(waitFor([&] {
    return bridge.metric("mqbridge_messages_forwarded_total", {"route=\"shared\""}) == 60;
  })) << bridge.metrics();
  double total = 0;
  for (int b = 0; b < 3; ++b) {
    const double n = bridge.metric("mqbridge_messages_forwarded_total",
                                   {"route=\"shared\"", "branch=\"" + std::to_string(b) + "\""});
    EXPECT_GT(n, 0) << "branch " << b << " carried no traffic\n" << bridge.metrics();
    total += n;
  }
  EXPECT_EQ(total, 60);

  // The client IDs seen by the brokers are exactly those `mqbridge validate` prints.
  const std::vector<std::string> ids = bridge.validatedClientIds();
  EXPECT_EQ(asSet(ids),
            (std::set<std::string>{
                "factory-gateway-plus-source", "factory-gateway-receive-commands",
                "factory-gateway-send-alerts", "factory-gateway-shared-0",
                "factory-gateway-shared-1", "factory-gateway-shared-2",
                "factory-gateway-target-same-as-source", "factory-gateway-wildcard-source"}));
  EXPECT_EQ(bridgeIdsSeen(local), asSet(ids)) << local.logText();
  EXPECT_EQ(bridgeIdsSeen(remote), asSet(ids));
  EXPECT_EQ(bridge.stop(), 0) << bridge.log();
}

TEST(E2eRoutes, MqttV311BothSides) {
  MosquittoBroker local, remote;
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start());
  BridgeRunner bridge;
  bridge.writeConfig("connector.yaml",
                     connectorYaml("v3-bridge", "v3", "v3-", plain(remote), plain(local)));
  bridge.writeConfig("topic-map.yaml",
                     topicMapYaml("v3-map", "v3-bridge", R"(    - direction: local-to-remote
      name: up
      source: up/#
      target: cloud/up
    - direction: remote-to-local
      name: down
      qos: 0
      source: down/+
)"));
  ASSERT_TRUE(bridge.start()) << bridge.log();
  TestClient remoteSub(clientOf(remote, "test-remote-sub", false));
  TestClient localSub(clientOf(local, "test-local-sub", false));
  ASSERT_TRUE(remoteSub.connect() && localSub.connect());
  ASSERT_TRUE(remoteSub.subscribe("cloud/#", 1));
  ASSERT_TRUE(localSub.subscribe("down/#", 1));
  TestClient localPub(clientOf(local, "test-local-pub", false));
  TestClient remotePub(clientOf(remote, "test-remote-pub", false));
  ASSERT_TRUE(localPub.connect() && remotePub.connect());
  ASSERT_TRUE(localPub.publishMany("up/a", 5, "u"));
  ASSERT_TRUE(remotePub.publishMany("down/x", 5, "d"));
  ASSERT_TRUE(waitOn(remoteSub, "cloud/up", 5));
  ASSERT_TRUE(waitOn(localSub, "down/x", 5));
  EXPECT_EQ(payloads(on(remoteSub, "cloud/up")),
            (std::vector<std::string>{"u0", "u1", "u2", "u3", "u4"}));
  EXPECT_EQ(payloads(on(localSub, "down/x")),
            (std::vector<std::string>{"d0", "d1", "d2", "d3", "d4"}));
  for (auto& m : on(remoteSub, "cloud/up")) {
    EXPECT_EQ(m.qos, 1);
  }
  for (auto& m : on(localSub, "down/x")) {
    EXPECT_EQ(m.qos, 0);
  }
  // Both bridge connections really spoke MQTT 3.1.1 (mosquitto logs its protocol "p2" for 3.1.1,
  // "p5" for v5).
  for (const MosquittoBroker* b : {&local, &remote}) {
    const std::string log = b->logText();
    EXPECT_NE(log.find(" as v3-up (p2"), std::string::npos) << log;
    EXPECT_NE(log.find(" as v3-down (p2"), std::string::npos) << log;
  }
  EXPECT_EQ(bridgeIdsSeen(local), asSet(bridge.validatedClientIds()));
  EXPECT_EQ(bridgeIdsSeen(remote), asSet(bridge.validatedClientIds()));
  EXPECT_EQ(bridge.stop(), 0) << bridge.log();
}

}  // namespace
}  // namespace mqb::test::e2e
