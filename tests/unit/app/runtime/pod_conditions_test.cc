// app/runtime/pod_conditions: the broker conditions a bridge pod writes into its own status,
// computed from what the clients report. (The writes themselves are tested against the stand-in
// API server in tests/integration/operator.)

#include "app/runtime/pod_conditions.h"

#include <gtest/gtest.h>

namespace mqb::app {
namespace {

config::BridgeConfig twoConnectors() {
  config::BridgeConfig cfg;
  config::ConnectorSpec a;
  a.name = "a";
  a.remote.endpoint = "cloud.example:8883";
  a.local.endpoint = "aio-mq:8883";
  config::ConnectorSpec b = a;
  b.name = "b";
  b.remote.endpoint = "other.example:8883";
  b.remote.fallbackEndpoints.push_back({});
  cfg.connectors = {a, b};
  return cfg;
}

metrics::SideConnectivity side(const std::string& connector, const std::string& s, int clients,
                               int connected, const std::string& failure = "") {
  return {connector, s, clients, connected, failure};
}

const PodCondition* find(const std::vector<PodCondition>& v, const std::string& type) {
  for (const auto& c : v) {
    if (c.type == type) {
      return &c;
    }
  }
  return nullptr;
}

TEST(PodConditions, EveryClientConnectedIsTrue) {
  const auto out = brokerConditions(
      {side("a", "local", 2, 2), side("a", "remote", 2, 2), side("b", "remote", 1, 1)},
      twoConnectors());
  ASSERT_EQ(out.size(), 2u);
  const auto* remote = find(out, "mqbridge.io/RemoteBrokerConnected");
  ASSERT_NE(remote, nullptr);
  EXPECT_EQ(remote->status, "True");
  EXPECT_EQ(remote->reason, "Connected");
  EXPECT_EQ(remote->message,
            "connector a: 2 of 2 clients connected to cloud.example:8883; connector b: 1 of 1 "
            "clients connected to other.example:8883 (or a failover endpoint)");
  EXPECT_EQ(find(out, "mqbridge.io/LocalBrokerConnected")->status, "True");
}

TEST(PodConditions, AFailedClientMakesItsSideFalseWithTheCause) {
  const auto out = brokerConditions(
      {side("a", "local", 1, 1), side("a", "remote", 2, 1, "x: y"), side("b", "remote", 1, 1)},
      twoConnectors());
  const auto* remote = find(out, "mqbridge.io/RemoteBrokerConnected");
  ASSERT_NE(remote, nullptr);
  EXPECT_EQ(remote->status, "False");
  EXPECT_EQ(remote->reason, "Unreachable");
  // Only the failing connector is named.
  EXPECT_EQ(remote->message,
            "connector a: 1 of 2 clients connected to cloud.example:8883, last failure: x: y");
  EXPECT_EQ(find(out, "mqbridge.io/LocalBrokerConnected")->status, "True");
}

TEST(PodConditions, StillConnectingGivesNoConditionAndNoClientsIsUnknown) {
  // Not connected yet and no failure: the side is left out (what was written stands).
  const auto out = brokerConditions({side("a", "remote", 2, 0)}, twoConnectors());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type, "mqbridge.io/LocalBrokerConnected");
  EXPECT_EQ(out[0].status, "Unknown");
  EXPECT_EQ(out[0].reason, "NoClients");
  // One connector failing while another is still connecting: False.
  const auto failing = brokerConditions(
      {side("a", "remote", 1, 0), side("b", "remote", 1, 0, "connack_refused")}, twoConnectors());
  EXPECT_EQ(find(failing, "mqbridge.io/RemoteBrokerConnected")->status, "False");
}

}  // namespace
}  // namespace mqb::app
