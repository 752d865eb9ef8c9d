// Message fidelity through the real `mqbridge run` binary: v5 properties round trip (user
// properties in order, content type, payload format, response topic, correlation data, message
// expiry reduced by the time spent in the bridge), binary and empty payloads, the retain flag kept,
// and stripped by a route with `retain: never`.

#include "tests/integration/e2e/e2e_util.h"

namespace mqb::test::e2e {
namespace {

TEST(E2eFidelity, V5PropertiesRoundTripAndExpiryReduced) {
  MosquittoBroker local, remote;
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start());
  BridgeRunner bridge;
  bridge.writeConfig("connector.yaml",
                     connectorYaml("props", "v5", "p-", plain(remote), plain(local)));
  // The second route holds messages ~2 s in its rate limiter, so the expiry must come out lower.
  bridge.writeConfig("topic-map.yaml",
                     topicMapYaml("props-map", "props", R"(    - direction: local-to-remote
      name: props
      source: props/#
    - direction: remote-to-local
      name: slow
      source: slow/#
      rateLimit:
        messagesPerSecond: 0.5
        burstMessages: 1
)"));
  ASSERT_TRUE(bridge.start()) << bridge.log();
  TestClient remoteSub(clientOf(remote, "test-remote-sub"));
  TestClient localSub(clientOf(local, "test-local-sub"));
  TestClient localPub(clientOf(local, "test-local-pub"));
  TestClient remotePub(clientOf(remote, "test-remote-pub"));
  for (TestClient* c : {&remoteSub, &localSub, &localPub, &remotePub}) {
    ASSERT_TRUE(c->connect()) << c->lastError();
  }
  ASSERT_TRUE(remoteSub.subscribe("props/#", 1));
  ASSERT_TRUE(localSub.subscribe("slow/#", 1));

  pipeline::Properties p;
  p.user = {{"site", "a"}, {"b", "2"}, {"site", "c"}};
  p.contentType = "application/json";
  p.payloadFormat = 1;
  p.responseTopic = "reply/to/me";
  p.correlationData = std::string("\x00\x01\xfe\xff", 4);
  p.messageExpirySeconds = 100;
  ASSERT_TRUE(localPub.publish("props/t", R"({"v":1})", 1, false, p));
  const std::string binary("\x00\xff\x00\x7f\n", 5);
  ASSERT_TRUE(localPub.publish("props/bin", binary, 1));
  ASSERT_TRUE(localPub.publish("props/empty", "", 1));
  ASSERT_TRUE(waitOn(remoteSub, "props/empty", 1));
  ASSERT_TRUE(waitOn(remoteSub, "props/t", 1));
  ASSERT_TRUE(waitOn(remoteSub, "props/bin", 1));

  const auto got = on(remoteSub, "props/t");
  ASSERT_EQ(got.size(), 1u);
  const pipeline::Properties& q = got[0].props;
  EXPECT_EQ(got[0].payload, R"({"v":1})");
  // The user properties in order, then the bridge's loop marker (the connector's name).
  EXPECT_EQ(q.user, (std::vector<pipeline::UserProperty>{
                        {"site", "a"}, {"b", "2"}, {"site", "c"}, {"mqbridge-hop", "props"}}));
  EXPECT_EQ(q.contentType, "application/json");
  EXPECT_EQ(q.payloadFormat, 1);
  EXPECT_EQ(q.responseTopic, "reply/to/me");
  EXPECT_EQ(q.correlationData, std::string("\x00\x01\xfe\xff", 4));
  ASSERT_TRUE(q.messageExpirySeconds);
  EXPECT_LE(*q.messageExpirySeconds, 100u);
  EXPECT_GE(*q.messageExpirySeconds, 95u);
  EXPECT_EQ(on(remoteSub, "props/bin")[0].payload, binary);
  EXPECT_EQ(on(remoteSub, "props/empty")[0].payload, "");

  // Expiry reduced by the time spent in the bridge: the second message waits ~2 s.
  pipeline::Properties e;
  e.messageExpirySeconds = 60;
  ASSERT_TRUE(remotePub.publish("slow/1", "a", 1, false, e));
  ASSERT_TRUE(remotePub.publish("slow/2", "b", 1, false, e));
  ASSERT_TRUE(waitOn(localSub, "slow/2", 1));
  const auto first = on(localSub, "slow/1");
  const auto second = on(localSub, "slow/2");
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  ASSERT_TRUE(first[0].props.messageExpirySeconds && second[0].props.messageExpirySeconds);
  EXPECT_GE(*first[0].props.messageExpirySeconds, 59u);
  EXPECT_LE(*second[0].props.messageExpirySeconds, 59u);
  EXPECT_GE(*second[0].props.messageExpirySeconds, 50u);
  EXPECT_LT(*second[0].props.messageExpirySeconds, *first[0].props.messageExpirySeconds);
  EXPECT_EQ(bridge.stop(), 0) << bridge.log();
}

TEST(E2eFidelity, RetainKeptAndStrippedByRetainNever) {
  MosquittoBroker local, remote;
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start());
  BridgeRunner bridge;
  bridge.writeConfig("connector.yaml",
                     connectorYaml("retain", "v5", "r-", plain(remote), plain(local)));
  bridge.writeConfig("topic-map.yaml",
                     topicMapYaml("retain-map", "retain", R"(    - direction: local-to-remote
      name: keep
      source: keep/#
    - direction: local-to-remote
      name: strip
      source: strip/#
      retain: never
)"));
  ASSERT_TRUE(bridge.start()) << bridge.log();
  TestClient remoteSub(clientOf(remote, "test-remote-sub"));
  TestClient localPub(clientOf(local, "test-local-pub"));
  ASSERT_TRUE(remoteSub.connect() && localPub.connect());
  ASSERT_TRUE(remoteSub.subscribe("#", 1));
  ASSERT_TRUE(localPub.publish("keep/a", "k-retained", 1, true));
  ASSERT_TRUE(localPub.publish("keep/b", "k-plain", 1, false));
  ASSERT_TRUE(localPub.publish("strip/a", "s-retained", 1, true));
  ASSERT_TRUE(waitOn(remoteSub, "keep/a", 1));
  ASSERT_TRUE(waitOn(remoteSub, "keep/b", 1));
  ASSERT_TRUE(waitOn(remoteSub, "strip/a", 1));
  // A live subscriber with retain-as-published sees the flag as the bridge published it.
  EXPECT_TRUE(on(remoteSub, "keep/a")[0].retain);
  EXPECT_FALSE(on(remoteSub, "keep/b")[0].retain);
  EXPECT_FALSE(on(remoteSub, "strip/a")[0].retain);
  // The remote broker stored the retained one only: a late subscriber gets keep/a, not strip/a.
  TestClient late(clientOf(remote, "test-late"));
  ASSERT_TRUE(late.connect());
  ASSERT_TRUE(late.subscribe("#", 1));
  ASSERT_TRUE(waitOn(late, "keep/a", 1));
  EXPECT_EQ(on(late, "keep/a")[0].payload, "k-retained");
  EXPECT_TRUE(on(late, "keep/a")[0].retain);
  // strip/a is not retained on the remote: publishing a marker after it and seeing only the
  // marker proves nothing else was queued for the late subscriber.
  TestClient remotePub(clientOf(remote, "test-remote-pub"));
  ASSERT_TRUE(remotePub.connect());
  ASSERT_TRUE(remotePub.publish("marker", "m", 1));
  ASSERT_TRUE(waitOn(late, "marker", 1));
  EXPECT_TRUE(on(late, "strip/a").empty());
  EXPECT_TRUE(on(late, "keep/b").empty());
  EXPECT_EQ(bridge.stop(), 0) << bridge.log();
}

}  // namespace
}  // namespace mqb::test::e2e
