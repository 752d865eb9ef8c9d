// A message the target refuses does not stop its route: through the real `mqbridge run` binary,
// a remote mosquitto whose ACL refuses one topic answers its PUBLISH with PUBACK 0x87; the
// bridge sets it aside in the route's dead-letter store (and publishes it on the connector's
// deadLetterTopic), the messages after it are forwarded, and once the ACL allows the topic,
// `mqbridge deadletter replay` delivers it and empties the store.

#include <nlohmann/json.hpp>

#include <sstream>

#include "tests/integration/e2e/e2e_util.h"
#include "tests/support/bridge_runner.h"

namespace mqb::test::e2e {
namespace {

using namespace std::chrono_literals;

std::vector<nlohmann::json> listDeadLetters(const std::string& stateDir) {
  int status = -1;
  const std::string out =
      runMqbridge({"deadletter", "list", "--state-dir", stateDir, "--json"}, status);
  EXPECT_EQ(status, 0) << out;
  std::vector<nlohmann::json> records;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.front() == '{') {
      records.push_back(nlohmann::json::parse(line));
    }
  }
  return records;
}

TEST(E2eDeadLetter, ARefusedMessageIsSetAsideTheRouteGoesOnAndReplayDeliversIt) {
  MosquittoBroker local;
  MosquittoBroker remote;
  // Anonymous clients may use data/ok/# only (the lines before any `user` line of an ACL file).
  const std::string acl = remote.dir().write("acl", "topic readwrite data/ok/#\n");
  remote.options().extraConfig = {"acl_file " + acl};
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start()) << remote.logText();

  BridgeRunner bridge;
  bridge.writeConfig("connector.yaml",
                     connectorYaml("dl-bridge", "v5", "dl-", plain(remote), plain(local),
                                   "  deadLetterTopic: mqbridge/deadletter\n"));
  bridge.writeConfig("topic-map.yaml", topicMapYaml("dl-map", "dl-bridge",
                                                    "    - direction: local-to-remote\n"
                                                    "      name: data\n"
                                                    "      qos: 1\n"
                                                    "      source: data/#\n"));
  ASSERT_TRUE(bridge.start()) << bridge.log();

  TestClient remoteSub(clientOf(remote, "test-remote-sub"));
  TestClient localDl(clientOf(local, "test-local-dl"));
  TestClient localPub(clientOf(local, "test-local-pub"));
  for (TestClient* c : {&remoteSub, &localDl, &localPub}) {
    ASSERT_TRUE(c->connect()) << c->lastError();
  }
  ASSERT_TRUE(remoteSub.subscribe("data/ok/#", 1));
  ASSERT_TRUE(localDl.subscribe("mqbridge/deadletter/#", 1));
  ASSERT_TRUE(localPub.publish("data/ok/1", "before", 1));
  ASSERT_TRUE(localPub.publish("data/secret/1", "refused", 1));
  ASSERT_TRUE(localPub.publish("data/ok/2", "after", 1));

  // The route goes on past the refused message.
  ASSERT_TRUE(waitOn(remoteSub, "data/ok/2", 1, 15s)) << bridge.log();
  EXPECT_EQ(payloads(on(remoteSub, "data/ok/1")), std::vector<std::string>{"before"});
  ASSERT_TRUE(waitFor(
      [&] { return bridge.metric("mqbridge_deadletter_messages_total", {"reason=\"refused\""}); },
      10s))
      << bridge.log();
  EXPECT_EQ(bridge.metric("mqbridge_messages_dropped_total", {"reason=\"dead_letter\""}), 1);
  EXPECT_EQ(bridge.metric("mqbridge_messages_forwarded_total", {"route=\"data\""}), 2);

  // Set aside with why, and announced on the dead-letter topic.
  const std::string stateDir = bridge.dir().path() + "/state";
  auto records = listDeadLetters(stateDir);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["topic"], "data/secret/1");
  EXPECT_EQ(records[0]["reason"], "refused");
  EXPECT_NE(records[0]["detail"].get<std::string>().find("not_authorized"), std::string::npos);
  EXPECT_EQ(records[0]["payload_bytes"], 7);
  ASSERT_TRUE(localDl.waitForCount(1));
  const auto dl = localDl.received()[0];
  EXPECT_EQ(dl.topic, "mqbridge/deadletter/data");
  EXPECT_EQ(dl.payload, "refused");
  bool reasonSeen = false;
  for (const auto& u : dl.props.user) {
    reasonSeen = reasonSeen || (u.key == "mqbridge-deadletter-reason" && u.value == "refused");
  }
  EXPECT_TRUE(reasonSeen);

  // The operator fixes the ACL; replay delivers the message and empties the store.
  remoteSub.disconnect();
  remote.dir().write("acl", "topic readwrite data/#\n");
  ASSERT_TRUE(remote.restart());
  TestClient remoteAll(clientOf(remote, "test-remote-all"));
  ASSERT_TRUE(remoteAll.connect()) << remoteAll.lastError();
  ASSERT_TRUE(remoteAll.subscribe("data/#", 1));
  int status = -1;
  const std::string out =
      runMqbridge({"deadletter", "replay", "-c", bridge.dir().path() + "/config", "--state-dir",
                   stateDir, "--route", "data"},
                  status);
  EXPECT_EQ(status, 0) << out;
  ASSERT_TRUE(waitOn(remoteAll, "data/secret/1", 1, 10s)) << out;
  EXPECT_EQ(payloads(on(remoteAll, "data/secret/1")), std::vector<std::string>{"refused"});
  EXPECT_TRUE(listDeadLetters(stateDir).empty());
  EXPECT_EQ(bridge.stop(), 0);
}

}  // namespace
}  // namespace mqb::test::e2e
