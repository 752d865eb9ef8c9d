// Reloads of `mqbridge run` (a child process, two real mosquitto brokers) rebuild exactly the
// routes whose configuration changed: an unchanged reload and a connector-only change rebuild
// none, a route's change rebuilds that route only, a connector field its routes read rebuilds
// all of them. Counted from the bridge's route_started / route_stopped log events.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>

#include "tests/support/bridge_runner.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/wait.h"

namespace mqb::test {
namespace {

using namespace std::chrono_literals;

/// Connector `rb` with `connectorExtra` lines (indented 2) and routes `a` (target `targetA`) and
/// `b`, both local-to-remote.
std::string config(const MosquittoBroker& local, const MosquittoBroker& remote,
                   const std::string& targetA, const std::string& connectorExtra = "") {
  return "apiVersion: mq.iotoperations.azure.com/v1beta1\n"
         "kind: MqttBridgeConnector\n"
         "metadata:\n  name: rb\n"
         "spec:\n"
         "  image: {repository: mqbridge}\n  protocol: v5\n"
         "  clientIdPrefix: rb-\n"
         "  remoteBrokerConnection:\n    endpoint: " +
         remote.endpoint() +
         "\n    tls: {tlsEnabled: false}\n    authentication: {anonymous: {}}\n"
         "  localBrokerConnection:\n    endpoint: " +
         local.endpoint() +
         "\n    tls: {tlsEnabled: false}\n    authentication: {anonymous: {}}\n" + connectorExtra +
         "---\n"
         "apiVersion: mq.iotoperations.azure.com/v1beta1\n"
         "kind: MqttBridgeTopicMap\n"
         "metadata:\n  name: rb-map\n"
         "spec:\n  mqttBridgeConnectorRef: rb\n  routes:\n"
         "    - {name: a, direction: local-to-remote, source: a/#, target: '" +
         targetA +
         "'}\n"
         "    - {name: b, direction: local-to-remote, source: b/#}\n";
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) {
    ++n;
  }
  return n;
}

/// Times route `route` of connector rb was started and stopped so far.
struct Counts {
  std::size_t started = 0;
  std::size_t stopped = 0;
  bool operator==(const Counts&) const = default;
};
Counts counts(const BridgeRunner& bridge, const std::string& route) {
  const std::string log = bridge.log();
  return {occurrences(log, "event=route_started route=rb/" + route + " "),
          occurrences(log, "event=route_stopped route=rb/" + route + " ")};
}

/// Writes `yaml`, sends SIGHUP and waits until that reload and any other in progress (the
/// bridge also reloads when it notices the file changed) have finished.
void reload(BridgeRunner& bridge, const std::string& yaml) {
  const std::size_t sighups = occurrences(bridge.log(), "event=reloading trigger=SIGHUP");
  bridge.writeConfig("bridge.yaml", yaml);
  bridge.signal(SIGHUP);
  ASSERT_TRUE(waitFor(
      [&] {
        const std::string log = bridge.log();
        return occurrences(log, "event=reloading trigger=SIGHUP") > sighups &&
               occurrences(log, "event=reloaded ") == occurrences(log, "event=reloading ");
      },
      20s))
      << bridge.log();
}

TEST(ReloadRoutes, RebuildsExactlyTheRoutesAChangeAffects) {
  MosquittoBroker local, remote;
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(remote.start());
  BridgeRunnerOptions o;
  o.drainSeconds = "";
  BridgeRunner bridge(std::move(o));
  bridge.writeConfig("bridge.yaml", config(local, remote, "x/{#}"));
  ASSERT_TRUE(bridge.start()) << bridge.log();
  ASSERT_EQ(counts(bridge, "a"), (Counts{1, 0}));
  ASSERT_EQ(counts(bridge, "b"), (Counts{1, 0}));

  // The same configuration: nothing rebuilt.
  ASSERT_NO_FATAL_FAILURE(reload(bridge, config(local, remote, "x/{#}")));
  EXPECT_EQ(counts(bridge, "a"), (Counts{1, 0}));
  EXPECT_EQ(counts(bridge, "b"), (Counts{1, 0}));

  // A connector field no route reads: nothing rebuilt.
  ASSERT_NO_FATAL_FAILURE(reload(bridge, config(local, remote, "x/{#}", "  logLevel: debug\n")));
  EXPECT_EQ(counts(bridge, "a"), (Counts{1, 0}));
  EXPECT_EQ(counts(bridge, "b"), (Counts{1, 0}));

  // Route a's target ({{ }} braces): route a only.
  ASSERT_NO_FATAL_FAILURE(
      reload(bridge, config(local, remote, "y/{{lit}}/{#}", "  logLevel: debug\n")));
  EXPECT_EQ(counts(bridge, "a"), (Counts{2, 1}));
  EXPECT_EQ(counts(bridge, "b"), (Counts{1, 0}));

  // A connector field every route reads: both.
  ASSERT_NO_FATAL_FAILURE(reload(bridge, config(local, remote, "y/{{lit}}/{#}",
                                                "  logLevel: debug\n  keepAliveSeconds: 30\n")));
  EXPECT_EQ(counts(bridge, "a"), (Counts{3, 2}));
  EXPECT_EQ(counts(bridge, "b"), (Counts{2, 1}));
  EXPECT_EQ(bridge.stop(), 0) << bridge.log();
}

}  // namespace
}  // namespace mqb::test
