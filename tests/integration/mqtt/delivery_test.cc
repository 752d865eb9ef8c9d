// Connection life and delivery rules of the MQTT source and sink against real brokers: a remote
// that is not up at start, paced reads while the route is backlogged, hop-marker loop prevention
// (the spec's looping topic map), the source's bounded overflow, the remote's Receive Maximum and
// Maximum Packet Size, QoS 0 while disconnected, message expiry, and v5 property forwarding.

#include "pipeline/clock.h"
#include "tests/integration/mqtt/mqtt_test_util.h"

namespace mqb::test {
namespace {

using metrics::DropReason;

TEST(MqttDelivery, RemoteNotUpAtStartComesUpLaterAndGetsWhatWaited) {
  MosquittoBroker local;
  BrokerOptions ro;
  ro.persistence = true;
  MosquittoBroker remote(ro);
  ASSERT_TRUE(local.start());
  // A persistent reader session on the remote, so messages delivered while it is away are kept.
  ASSERT_TRUE(remote.start());
  TestClientOptions readerOptions = testClientFor(remote, "remote-reader");
  readerOptions.cleanStart = false;
  {
    TestClient reader(readerOptions);
    ASSERT_TRUE(reader.connect());
    ASSERT_TRUE(reader.subscribe("late/#", 1));
  }
  remote.stop();

  DirectRoute route(routeOptions(local, remote, "late/#", std::nullopt, "late"));
  route.start();
  ASSERT_TRUE(waitFor([&] { return route.sources()[0]->ready(); }));
  EXPECT_TRUE(waitFor([&] { return route.metrics().connectFailures() >= 1; }));
  TestClient pub(testClientFor(local, "local-writer"));
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publishMany("late/t", 10, "w"));
  ASSERT_TRUE(waitFor([&] { return route.sinks()[0]->heldForTest() == 10; }));
  EXPECT_EQ(route.metrics().forwarded(), 0);

  ASSERT_TRUE(remote.start());
  ASSERT_TRUE(waitFor([&] { return route.metrics().forwarded() == 10; }, 15s));
  TestClient reader(readerOptions);
  ASSERT_TRUE(reader.connect());
  ASSERT_TRUE(reader.waitForCount(10));
  auto got = reader.received();
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(got[i].topic, "late/t");
    EXPECT_EQ(got[i].payload, cat("w", i));
    EXPECT_EQ(got[i].qos, 1);
  }
  EXPECT_EQ(route.metrics().dropped(DropReason::Qos0Disconnected), 0);
}

TEST(MqttDelivery, FrozenRemoteLosesNothingAndKeepsOrder) {
  MosquittoBroker local;
  MosquittoBroker remote;
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start());
  DirectRoute route(routeOptions(local, remote, "frz/#", std::nullopt, "frz"));
  route.start();
  ASSERT_TRUE(route.waitReady());
  TestClient sub(testClientFor(remote, "remote-reader"));
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("frz/#", 1));
  TestClient pub(testClientFor(local, "local-writer"));
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publishMany("frz/t", 50, "a"));
  ASSERT_TRUE(sub.waitForCount(50));
  remote.pause();  // SIGSTOP: connections stay up, nothing is acknowledged
  ASSERT_TRUE(pub.publishMany("frz/t", 150, "b"));
  ASSERT_TRUE(waitFor([&] { return route.metrics().received() == 200; }));
  EXPECT_TRUE(waitFor([&] { return route.sinks()[0]->heldForTest() == 150; }));
  remote.resume();
  ASSERT_TRUE(sub.waitForCount(200, 20s)) << sub.receivedCount();
  EXPECT_FALSE(sub.waitForCount(201, 300ms));
  auto got = sub.received();
  for (int i = 0; i < 150; ++i) {
    ASSERT_EQ(got[50 + i].payload, cat("b", i));
  }
  EXPECT_TRUE(waitFor([&] { return route.metrics().forwarded() == 200; }));
}

TEST(MqttDelivery, BackloggedRouteReadsInPacedBatchesAndKeepsOrder) {
  MosquittoBroker local;
  MosquittoBroker remote;  // Receive Maximum 20: the sink's window
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start());
  DirectRoute route(routeOptions(local, remote, "pace/#", std::nullopt, "pace"));
  route.start();
  ASSERT_TRUE(route.waitReady());
  const mqtt::Client& source = route.sources()[0]->client();
  const mqtt::Client& sink = route.sinks()[0]->client();
  TestClient sub(testClientFor(remote, "remote-reader"));
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("pace/#", 1));
  TestClient pub(testClientFor(local, "local-writer"));
  ASSERT_TRUE(pub.connect());
  // A message at a time: nothing waits in the route, the subscriber reads at the first byte. (The
  // publisher may pace: the next message often leaves before the PUBACK of the one before is read,
  // which is a flow; MqttSinkPacing covers that rule.)
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(pub.publish("pace/t", cat("a", i)));
    ASSERT_TRUE(sub.waitForCount(static_cast<std::size_t>(i) + 1));
  }
  EXPECT_EQ(source.pacedSleepsForTest(), 0u);
  const auto sinkPacedBefore = sink.pacedSleepsForTest();

  remote.pause();  // SIGSTOP: the sink's window fills, the rest waits in the route
  ASSERT_TRUE(pub.publishMany("pace/t", 400, "b"));
  ASSERT_TRUE(waitFor([&] { return route.metrics().received() == 420; }));
  // More than 64 in flight and reads of fewer than 32: the subscriber reads every millisecond.
  EXPECT_GT(source.pacedSleepsForTest(), 0u);
  remote.resume();
  ASSERT_TRUE(sub.waitForCount(420, 20s)) << sub.receivedCount();
  // A full window with more waiting, its PUBACKs coming a few at a time: paced too.
  EXPECT_GT(sink.pacedSleepsForTest(), sinkPacedBefore);
  auto got = sub.received();
  for (int i = 0; i < 400; ++i) {
    ASSERT_EQ(got[20 + static_cast<std::size_t>(i)].payload, cat("b", i));
  }
  EXPECT_FALSE(sub.waitForCount(421, 300ms));
  EXPECT_TRUE(waitFor([&] { return route.metrics().forwarded() == 420; }));
}

TEST(MqttDelivery, SpecLoopingTopicMapForwardsEachMessageOnce) {
  MosquittoBroker local;
  MosquittoBroker remote;
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start());
  // first-route: remote-topic -> local-topic; second-route: local-topic -> remote-topic.
  DirectRoute first(routeOptions(remote, local, "remote-topic", "local-topic", "first-route"));
  DirectRoute second(routeOptions(local, remote, "local-topic", "remote-topic", "second-route"));
  first.start();
  second.start();
  ASSERT_TRUE(first.waitReady());
  ASSERT_TRUE(second.waitReady());
  TestClient localApp(testClientFor(local, "local-app"));
  TestClient remoteApp(testClientFor(remote, "remote-app"));
  ASSERT_TRUE(localApp.connect());
  ASSERT_TRUE(remoteApp.connect());
  ASSERT_TRUE(localApp.subscribe("local-topic", 1));
  ASSERT_TRUE(remoteApp.subscribe("remote-topic", 1));

  ASSERT_TRUE(remoteApp.publish("remote-topic", "from-remote", 1));
  ASSERT_TRUE(localApp.waitForCount(1));
  ASSERT_TRUE(waitFor([&] { return second.metrics().dropped(DropReason::Loop) == 1; }));
  ASSERT_TRUE(localApp.publish("local-topic", "from-local", 1));
  ASSERT_TRUE(remoteApp.waitForCount(2));
  ASSERT_TRUE(waitFor([&] { return first.metrics().dropped(DropReason::Loop) == 1; }));
  // Quiet afterwards: nothing bounces.
  EXPECT_FALSE(localApp.waitForCount(3, 500ms));
  EXPECT_FALSE(remoteApp.waitForCount(3, 1ms));

  auto l = localApp.received();
  auto r = remoteApp.received();
  ASSERT_EQ(l.size(), 2u);  // the bridged one and the local app's own
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(l[0].payload, "from-remote");
  EXPECT_EQ(l[1].payload, "from-local");
  EXPECT_EQ(r[0].payload, "from-remote");
  EXPECT_EQ(r[1].payload, "from-local");
  EXPECT_EQ(first.metrics().forwarded(), 1);
  EXPECT_EQ(second.metrics().forwarded(), 1);
  // The bridged copy carries the hop marker.
  ASSERT_FALSE(l[0].props.user.empty());
  EXPECT_EQ(l[0].props.user.back(), (pipeline::UserProperty{"mqbridge-hop", "test-connector"}));
}

TEST(MqttDelivery, SourceOverflowHoldsRefusedMessagesThenDropsBeyondCapacity) {
  MosquittoBroker local;
  MosquittoBroker remote;
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start());
  auto o = routeOptions(local, remote, "ovf/#", std::nullopt, "ovf");
  o.sourceOptions.overflowCapacity = 5;
  DirectRoute route(std::move(o));
  route.start();
  ASSERT_TRUE(route.waitReady());
  TestClient sub(testClientFor(remote, "remote-reader"));
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("ovf/#", 1));
  route.ingress().setBlocked(true);
  TestClient pub(testClientFor(local, "local-writer"));
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publishMany("ovf/t", 8, "o"));
  ASSERT_TRUE(waitFor([&] { return route.metrics().received() == 8; }));
  EXPECT_EQ(route.sources()[0]->overflowSizeForTest(), 5u);
  EXPECT_EQ(route.metrics().dropped(DropReason::Overflow), 3);
  route.ingress().setBlocked(false);
  ASSERT_TRUE(sub.waitForCount(5));
  EXPECT_FALSE(sub.waitForCount(6, 300ms));
  auto got = sub.received();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(got[i].payload, cat("o", i));  // the oldest were kept, in order
  }
  EXPECT_EQ(route.sources()[0]->overflowSizeForTest(), 0u);
}

TEST(MqttDelivery, ReceiveMaximumBoundsTheWindow) {
  MosquittoBroker local;
  BrokerOptions ro;
  ro.extraConfig = {"max_inflight_messages 3"};
  MosquittoBroker remote(ro);
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start());
  auto o = routeOptions(local, remote, "rm/#", std::nullopt, "rm");
  o.sinkOptions.maxInflight = 100;
  DirectRoute route(std::move(o));
  route.start();
  ASSERT_TRUE(route.waitReady());
  EXPECT_EQ(route.sinks()[0]->client().connectInfo().receiveMaximum, 3);
  TestClient sub(testClientFor(remote, "remote-reader"));
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("rm/#", 1));
  TestClient pub(testClientFor(local, "local-writer"));
  ASSERT_TRUE(pub.connect());
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(pub.publishMany("rm/t", 300, "r"));
  ASSERT_TRUE(sub.waitForCount(300, 20s)) << sub.receivedCount();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LE(route.sinks()[0]->maxOutstandingForTest(), 3u);
  EXPECT_GE(route.sinks()[0]->maxOutstandingForTest(), 1u);
  // Refilled from PUBACKs, not Paho's 1-per-second retry: 300 messages take well under 100 s.
  EXPECT_LT(secs, 15.0);
  auto got = sub.received();
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(got[i].payload, cat("r", i));
  }
}

TEST(MqttDelivery, NotBeforeDelaysPublishingWithoutReordering) {
  MosquittoBroker local;
  MosquittoBroker remote;
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start());
  DirectRoute route(routeOptions(local, remote, "nb/#", std::nullopt, "nb"));
  route.start();
  ASSERT_TRUE(route.waitReady());
  TestClient sub(testClientFor(remote, "remote-reader"));
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("nb/#", 1));
  TestClient pub(testClientFor(local, "local-writer"));
  ASSERT_TRUE(pub.connect());
  route.ingress().setNotBeforeDelay(700ms);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(pub.publish("nb/t", "first", 1));
  ASSERT_TRUE(pub.publish("nb/t", "second", 0));
  ASSERT_TRUE(sub.waitForCount(2));
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 700ms);  // not published before notBefore
  auto got = sub.received();
  EXPECT_EQ(got[0].payload, "first");
  EXPECT_EQ(got[1].payload, "second");
}

TEST(MqttDelivery, SinkStopDrainsWhatItHolds) {
  MosquittoBroker local;
  BrokerOptions ro;
  ro.extraConfig = {"max_inflight_messages 2"};  // a slow remote: the sink builds a queue
  MosquittoBroker remote(ro);
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start());
  DirectRoute route(routeOptions(local, remote, "drain/#", std::nullopt, "drain"));
  route.start();
  ASSERT_TRUE(route.waitReady());
  TestClient pub(testClientFor(local, "local-writer"));
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publishMany("drain/t", 400, "d"));
  ASSERT_TRUE(waitFor([&] { return route.metrics().received() == 400; }));
  route.stop();  // sources first, then the sinks drain (2 s deadline)
  EXPECT_EQ(route.metrics().forwarded(), 400);
  EXPECT_EQ(route.metrics().dropped(DropReason::Shutdown), 0);
  EXPECT_EQ(route.sinks()[0]->heldForTest(), 0u);
}

TEST(MqttDelivery, OversizeForMaximumPacketSizeIsRejected) {
  MosquittoBroker local;
  BrokerOptions ro;
  ro.extraConfig = {"max_packet_size 512"};
  MosquittoBroker remote(ro);
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start());
  DirectRoute route(routeOptions(local, remote, "big/#", std::nullopt, "big"));
  route.start();
  ASSERT_TRUE(route.waitReady());
  EXPECT_EQ(route.sinks()[0]->client().connectInfo().maximumPacketSize, 512u);
  TestClient sub(testClientFor(remote, "remote-reader"));
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("big/#", 1));
  TestClient pub(testClientFor(local, "local-writer"));
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("big/t", std::string(2000, 'x'), 1));
  ASSERT_TRUE(pub.publish("big/t", "small", 1));
  ASSERT_TRUE(sub.waitForCount(1));
  EXPECT_FALSE(sub.waitForCount(2, 300ms));
  EXPECT_EQ(sub.received()[0].payload, "small");
  EXPECT_TRUE(waitFor([&] { return route.metrics().dropped(DropReason::Rejected) == 1; }));
  EXPECT_TRUE(route.sinks()[0]->ready());  // still connected: nothing oversize was sent
}

TEST(MqttDelivery, Qos0WhileDisconnectedIsDroppedAndCounted) {
  MosquittoBroker local;
  MosquittoBroker remote;
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start());
  remote.stop();  // ports chosen, broker down
  DirectRoute route(routeOptions(local, remote, "q0/#", std::nullopt, "q0"));
  route.start();
  ASSERT_TRUE(waitFor([&] { return route.sources()[0]->ready(); }));
  TestClient pub(testClientFor(local, "local-writer"));
  ASSERT_TRUE(pub.connect());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(pub.publish("q0/t", cat("z", i), 0));
  }
  ASSERT_TRUE(pub.publish("q0/t", "one", 1));
  EXPECT_TRUE(waitFor([&] {
    return route.metrics().dropped(DropReason::Qos0Disconnected) == 3 &&
           route.sinks()[0]->heldForTest() == 1;
  }));
}

TEST(MqttDelivery, V5PropertiesRoundTripWithExpiryReducedAndExpiredDropped) {
  MosquittoBroker local;
  BrokerOptions ro;
  ro.persistence = true;
  MosquittoBroker remote(ro);
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start());
  TestClientOptions readerOptions = testClientFor(remote, "remote-reader");
  readerOptions.cleanStart = false;
  {
    TestClient reader(readerOptions);
    ASSERT_TRUE(reader.connect());
    ASSERT_TRUE(reader.subscribe("props/#", 1));
  }
  remote.stop();
  pipeline::ManualClock clock(std::chrono::steady_clock::now());
  auto o = routeOptions(local, remote, "props/#", std::nullopt, "props");
  o.clock = &clock;
  DirectRoute route(std::move(o));
  route.start();
  ASSERT_TRUE(waitFor([&] { return route.sources()[0]->ready(); }));
  TestClient pub(testClientFor(local, "local-writer"));
  ASSERT_TRUE(pub.connect());

  pipeline::Properties props;
  props.user = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
  props.contentType = "application/octet-stream";
  props.payloadFormat = 0;
  props.responseTopic = "reply/here";
  props.correlationData = std::string("\x00\x01\xff", 3);
  props.messageExpirySeconds = 100;
  const std::string binary("\x00\xff\x10\x00zz", 6);
  ASSERT_TRUE(pub.publish("props/full", binary, 1, false, props));
  pipeline::Properties shortLived;
  shortLived.messageExpirySeconds = 5;
  ASSERT_TRUE(pub.publish("props/expired", "late", 1, false, shortLived));
  ASSERT_TRUE(pub.publish("props/empty", "", 1));
  ASSERT_TRUE(waitFor([&] { return route.sinks()[0]->heldForTest() == 3; }));

  // Ten seconds "spent in the bridge" (the clock is the sink's); all three arrived before.
  clock.set(std::chrono::steady_clock::now() + std::chrono::seconds(10));
  ASSERT_TRUE(remote.start());
  ASSERT_TRUE(waitFor([&] { return route.metrics().forwarded() == 2; }, 15s));
  TestClient sub(readerOptions);
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.waitForCount(2));
  EXPECT_FALSE(sub.waitForCount(3, 300ms));
  EXPECT_TRUE(waitFor([&] { return route.metrics().dropped(DropReason::Expired) == 1; }));
  auto got = sub.received();
  ASSERT_GE(got.size(), 2u);
  EXPECT_EQ(got[0].topic, "props/full");
  EXPECT_EQ(got[0].payload, binary);
  const auto& p = got[0].props;
  ASSERT_EQ(p.user.size(), 4u);
  EXPECT_EQ(p.user[0], (pipeline::UserProperty{"a", "1"}));
  EXPECT_EQ(p.user[1], (pipeline::UserProperty{"b", "2"}));
  EXPECT_EQ(p.user[2], (pipeline::UserProperty{"a", "3"}));
  EXPECT_EQ(p.user[3], (pipeline::UserProperty{"mqbridge-hop", "test-connector"}));
  EXPECT_EQ(p.contentType, "application/octet-stream");
  EXPECT_EQ(p.payloadFormat, 0);
  EXPECT_EQ(p.responseTopic, "reply/here");
  EXPECT_EQ(p.correlationData, std::string("\x00\x01\xff", 3));
  ASSERT_TRUE(p.messageExpirySeconds.has_value());
  EXPECT_LE(*p.messageExpirySeconds, 90u);  // 100 minus the 10 s in the bridge
  EXPECT_GE(*p.messageExpirySeconds, 80u);
  EXPECT_EQ(got[1].topic, "props/empty");
  EXPECT_EQ(got[1].payload, "");
}

}  // namespace
}  // namespace mqb::test
