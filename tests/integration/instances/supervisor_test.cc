// `mqbridge run --spawn-instances`: one supervisor, bridgeInstances: 2 -> two child processes
// (their clients appear on the brokers, each /healthz answers on port+i); a SIGKILLed child is
// restarted and its clients come back; SIGTERM stops everything with status 0.

#include <gtest/gtest.h>
#include <signal.h>

#include <regex>
#include <string>

#include "tests/support/bridge_runner.h"
#include "tests/support/http_get.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/test_client.h"
#include "tests/support/wait.h"

namespace mqb::test {
namespace {

using namespace std::chrono_literals;

std::string config(const MosquittoBroker& local, const MosquittoBroker& remote) {
  return "apiVersion: mq.iotoperations.azure.com/v1beta1\n"
         "kind: MqttBridgeConnector\n"
         "metadata:\n  name: sup\n"
         "spec:\n"
         "  image: {repository: mqbridge, tag: t, pullPolicy: IfNotPresent}\n"
         "  protocol: v5\n  bridgeInstances: 2\n  clientIdPrefix: sup-\n  logLevel: info\n"
         "  remoteBrokerConnection:\n    endpoint: " +
         remote.endpoint() +
         "\n    tls: {tlsEnabled: false}\n    authentication: {anonymous: {}}\n"
         "  localBrokerConnection:\n    endpoint: " +
         local.endpoint() +
         "\n    tls: {tlsEnabled: false}\n    authentication: {anonymous: {}}\n"
         "---\n"
         "apiVersion: mq.iotoperations.azure.com/v1beta1\n"
         "kind: MqttBridgeTopicMap\n"
         "metadata:\n  name: sup-map\n"
         "spec:\n"
         "  mqttBridgeConnectorRef: sup\n"
         "  routes:\n"
         "    - name: fan\n      direction: local-to-remote\n      qos: 1\n      source: f/#\n"
         "      sharedSubscription: {groupMinimumShareNumber: 4, groupName: g}\n";
}

/// pid of the last "instance_started instance=<i> pid=<pid>" line.
int lastPid(const std::string& log, int instance) {
  const std::regex re("instance_started.*instance=" + std::to_string(instance) + " pid=([0-9]+)");
  int pid = -1;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator();
       ++it) {
    pid = std::stoi((*it)[1]);
  }
  return pid;
}

TEST(SupervisorTest, RestartsAKilledChildAndStopsCleanly) {
  MosquittoBroker local, remote;
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start());
  // Instance i serves metrics on base+i: two consecutive free ports, try a few bases.
  BridgeRunnerOptions o;
  for (int attempt = 0; attempt < 20 && o.metricsPort == 0; ++attempt) {
    const int p = freePort();
    if (p > 0 && p < 65000) {
      o.metricsPort = p;
    }
  }
  ASSERT_GT(o.metricsPort, 0);
  const int base = o.metricsPort;
  o.drainSeconds = "1";
  o.extraArgs = {"--spawn-instances"};
  BridgeRunner sup(std::move(o));
  sup.writeConfig("bridge.yaml", config(local, remote));
  ASSERT_TRUE(sup.spawn());
  const std::set<std::string> all{"sup-fan-0", "sup-fan-1", "sup-fan-2", "sup-fan-3"};
  auto ids = [&] {
    std::set<std::string> s;
    for (const auto& id : local.clientIdsConnected()) {
      if (id.rfind("sup-fan-", 0) == 0) {
        s.insert(id);
      }
    }
    return s;
  };
  ASSERT_TRUE(waitFor([&] { return ids() == all; }, 30s)) << sup.log();
  for (int i = 0; i < 2; ++i) {
    const auto r = waitForStatus(static_cast<std::uint16_t>(base + i), "/healthz", 200, 20s);
    EXPECT_EQ(r.status, 200) << "instance " << i;
  }
  const int pid1 = lastPid(sup.log(), 1);
  ASSERT_GT(pid1, 0) << sup.log();
  ASSERT_EQ(::kill(pid1, SIGKILL), 0);
  // Instance 1 serves fan-1 and fan-3: they drop, then come back from a new process.
  ASSERT_TRUE(waitFor([&] { return lastPid(sup.log(), 1) != pid1; }, 20s)) << sup.log();
  ASSERT_TRUE(waitFor([&] { return ids() == all; }, 30s)) << sup.log();
  EXPECT_NE(sup.log().find("instance_exited"), std::string::npos);

  // Messages still flow through all four clients.
  TestClientOptions ro;
  ro.uri = remote.uri();
  ro.clientId = "rx";
  TestClient rx(ro);
  ASSERT_TRUE(rx.connect());
  ASSERT_TRUE(rx.subscribe("f/#", 1));
  TestClientOptions lo;
  lo.uri = local.uri();
  lo.clientId = "tx";
  TestClient tx(lo);
  ASSERT_TRUE(tx.connect());
  ASSERT_TRUE(tx.publishMany("f/x", 200, "F"));
  ASSERT_TRUE(rx.waitForCount(200, 30s)) << rx.receivedCount();

  sup.signal(SIGTERM);
  const auto rc = sup.wait(30s);
  ASSERT_TRUE(rc.has_value()) << sup.log();
  EXPECT_EQ(*rc, 0) << sup.log();
  EXPECT_TRUE(waitFor([&] { return ids().empty(); }, 10s));
}

}  // namespace
}  // namespace mqb::test
