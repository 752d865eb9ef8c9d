// Built-in transform stages (filter, set_properties, json_map) on routes of the real
// `mqbridge run` binary between two real brokers: exact output messages, and a message a stage
// cannot process (bad JSON) counted and dropped -- or passed through, as configured -- without
// stopping the route.

#include "tests/integration/e2e/e2e_util.h"

namespace mqb::test::e2e {
namespace {

TEST(E2eTransforms, FilterSetPropertiesJsonMapAndBadJson) {
  MosquittoBroker local, remote;
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start());
  BridgeRunner bridge;
  bridge.writeConfig("connector.yaml",
                     connectorYaml("xf", "v5", "xf-", plain(remote), plain(local)));
  bridge.writeConfig("topic-map.yaml",
                     topicMapYaml("xf-map", "xf", R"(    - direction: local-to-remote
      name: strict
      source: strict/#
      target: cloud/strict
      stages:
        - type: filter
          json: {field: temperature, op: ">", value: 30}
        - type: set_properties
          userProperties: {site: plant-a}
          contentType: application/json
        - type: json_map
          rename: {temperature: tempC}
          drop: [debug]
          add: {source: edge}
    - direction: local-to-remote
      name: lenient
      source: lenient/#
      target: cloud/lenient
      stages:
        - type: json_map
          add: {checked: true}
          onError: pass
)"));
  ASSERT_TRUE(bridge.start()) << bridge.log();
  TestClient sub(clientOf(remote, "test-remote-sub"));
  TestClient pub(clientOf(local, "test-local-pub"));
  ASSERT_TRUE(sub.connect() && pub.connect());
  ASSERT_TRUE(sub.subscribe("cloud/#", 1));

  ASSERT_TRUE(pub.publish("strict/a", R"({"temperature":35,"debug":"x"})", 1));
  ASSERT_TRUE(pub.publish("strict/a", R"({"temperature":20})", 1));  // filtered out
  ASSERT_TRUE(pub.publish("strict/a", "not json {", 1));             // stage error: dropped
  ASSERT_TRUE(pub.publish("strict/a", R"({"temperature":41})", 1));  // route still runs
  ASSERT_TRUE(pub.publish("lenient/b", "not json either", 1));       // stage error: passed
  ASSERT_TRUE(pub.publish("lenient/b", R"({"v":1})", 1));
  ASSERT_TRUE(waitOn(sub, "cloud/strict", 2));
  ASSERT_TRUE(waitOn(sub, "cloud/lenient", 2));

  auto strict = on(sub, "cloud/strict");
  // json_map keeps the field order: renamed in place, dropped, added at the end.
  ASSERT_EQ(payloads(strict), (std::vector<std::string>{R"({"tempC":35,"source":"edge"})",
                                                        R"({"tempC":41,"source":"edge"})"}));
  for (auto& m : strict) {
    EXPECT_EQ(m.props.contentType, "application/json");
    ASSERT_FALSE(m.props.user.empty());
    EXPECT_EQ(m.props.user[0], (pipeline::UserProperty{"site", "plant-a"}));
  }
  EXPECT_EQ(payloads(on(sub, "cloud/lenient")),
            (std::vector<std::string>{"not json either", R"({"v":1,"checked":true})"}));
  // Counted with their reasons; the messages after the bad one still went through.
  ASSERT_TRUE(waitFor([&] {
    return bridge.metric("mqbridge_messages_forwarded_total", {"route=\"strict\""}) == 2 &&
           bridge.metric("mqbridge_messages_forwarded_total", {"route=\"lenient\""}) == 2;
  })) << bridge.metrics();
  EXPECT_EQ(
      bridge.metric("mqbridge_messages_dropped_total", {"route=\"strict\"", "reason=\"filtered\""}),
      1);
  EXPECT_EQ(bridge.metric("mqbridge_messages_dropped_total",
                          {"route=\"strict\"", "reason=\"stage_error\""}),
            1);
  EXPECT_EQ(bridge.metric("mqbridge_messages_dropped_total", {"route=\"lenient\""}), 0);
  // `mqbridge validate` shows each route's full stage chain.
  const std::string v = bridge.validate();
  EXPECT_NE(v.find("stages: topic_rewrite -> qos -> rate_limit -> filter -> set_properties -> "
                   "json_map"),
            std::string::npos)
      << v;
  EXPECT_EQ(bridge.stop(), 0) << bridge.log();
}

TEST(E2eLifecycle, RemoteNotUpAtStartComesUpLater) {
  MosquittoBroker local, remote;
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start());  // picks its ports...
  remote.stop();                // ...and is down when the bridge starts
  BridgeRunner bridge;
  bridge.writeConfig("connector.yaml",
                     connectorYaml("late", "v5", "late-", plain(remote), plain(local)));
  bridge.writeConfig("topic-map.yaml",
                     topicMapYaml("late-map", "late", R"(    - direction: local-to-remote
      name: up
      source: up/#
    - direction: remote-to-local
      name: down
      source: down/#
)"));
  ASSERT_TRUE(bridge.spawn());
  // Not ready while the remote is down (but alive and serving /readyz).
  EXPECT_FALSE(bridge.waitReady(std::chrono::milliseconds(1500)));
  EXPECT_TRUE(bridge.running()) << bridge.log();
  ASSERT_TRUE(remote.start());
  ASSERT_TRUE(bridge.waitReady(std::chrono::seconds(30))) << bridge.log();
  TestClient remoteSub(clientOf(remote, "test-remote-sub"));
  TestClient localSub(clientOf(local, "test-local-sub"));
  TestClient localPub(clientOf(local, "test-local-pub"));
  TestClient remotePub(clientOf(remote, "test-remote-pub"));
  for (TestClient* c : {&remoteSub, &localSub, &localPub, &remotePub}) {
    ASSERT_TRUE(c->connect()) << c->lastError();
  }
  ASSERT_TRUE(remoteSub.subscribe("up/#", 1));
  ASSERT_TRUE(localSub.subscribe("down/#", 1));
  ASSERT_TRUE(localPub.publishMany("up/x", 3, "u"));
  ASSERT_TRUE(remotePub.publishMany("down/y", 3, "d"));
  ASSERT_TRUE(waitOn(remoteSub, "up/x", 3)) << bridge.log();
  ASSERT_TRUE(waitOn(localSub, "down/y", 3)) << bridge.log();
  EXPECT_EQ(payloads(on(remoteSub, "up/x")), (std::vector<std::string>{"u0", "u1", "u2"}));
  EXPECT_EQ(payloads(on(localSub, "down/y")), (std::vector<std::string>{"d0", "d1", "d2"}));
  EXPECT_EQ(bridgeIdsSeen(remote), asSet(bridge.validatedClientIds()));
  EXPECT_EQ(bridge.stop(), 0) << bridge.log();
}

}  // namespace
}  // namespace mqb::test::e2e
