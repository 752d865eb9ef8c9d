#include "config/plan.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "tests/unit/config/config_test_util.h"

namespace mqb::config {
namespace {

using namespace testing;

BridgeConfig configWith(int instances, const std::string& routes, const std::string& prefix = "p-",
                        bool reversed = false) {
  YAML::Node c = baseConnector();
  setPath(c, "spec.bridgeInstances", std::to_string(instances));
  setPath(c, "spec.clientIdPrefix", prefix);
  YAML::Node m = baseTopicMap();
  setPath(m, "spec.routes", routes);
  const LoadResult r = reversed ? loadDocs({m, c}) : loadPair(c, m);
  EXPECT_TRUE(r.ok()) << r.diagnostics.str();
  return r.ok() ? *r.config : BridgeConfig{};
}

const char* kRoutes =
    "[{name: b, direction: local-to-remote, source: b/#},"
    " {name: a, direction: remote-to-local, source: a/+, target: x/y,"
    "  sharedSubscription: {groupMinimumShareNumber: 4, groupName: g}},"
    " {name: c, direction: local-to-remote, source: c}]";

TEST(Plan, ClientIdsAndSubscriptions) {
  const BridgeConfig cfg = configWith(1, kRoutes);
  const Plan plan = Plan::build(cfg);
  ASSERT_EQ(plan.connectors().size(), 1u);
  const auto& routes = plan.connectors()[0].routes;
  ASSERT_EQ(routes.size(), 3u);
  EXPECT_EQ(routes[0].route->name, "a");  // sorted by name
  ASSERT_EQ(routes[0].clients.size(), 4u);
  EXPECT_EQ(routes[0].clients[0].clientId, "p-a-0");
  EXPECT_EQ(routes[0].clients[3].clientId, "p-a-3");
  EXPECT_EQ(routes[0].clients[1].subscription, "$share/g/a/+");
  EXPECT_EQ(routes[1].clients[0].clientId, "p-b");
  EXPECT_EQ(routes[1].clients[0].subscription, "b/#");
}

TEST(Plan, InstanceAssignmentIsBalancedCompleteAndDeterministic) {
  const BridgeConfig cfg = configWith(3, kRoutes);
  const Plan plan = Plan::build(cfg);
  // 6 units (a-0..a-3, b, c) over 3 instances: 2 each, every unit exactly once.
  std::map<std::string, int> served;
  for (int i = 0; i < 3; ++i) {
    const auto units = plan.assignedTo(i);
    EXPECT_EQ(units.size(), 2u) << "instance " << i;
    for (const auto& u : units) {
      ++served[u.client->clientId];
      EXPECT_EQ(u.client->instance, i);
      EXPECT_EQ(u.connector->name, "bridge");
    }
  }
  EXPECT_EQ(served.size(), 6u);
  for (const auto& [id, n] : served) {
    EXPECT_EQ(n, 1) << id;
  }
  EXPECT_TRUE(plan.assignedTo(3).empty());
  // Unit k -> instance k % N in (route, client index) order.
  EXPECT_EQ(plan.assignedTo(0)[0].client->clientId, "p-a-0");
  EXPECT_EQ(plan.assignedTo(0)[1].client->clientId, "p-a-3");
  EXPECT_EQ(plan.assignedTo(1)[1].client->clientId, "p-b");
  EXPECT_EQ(plan.assignedTo(2)[1].client->clientId, "p-c");
  // Independent of document order.
  const BridgeConfig rev = configWith(3, kRoutes, "p-", true);
  const Plan plan2 = Plan::build(rev);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(plan.assignedTo(i).size(), plan2.assignedTo(i).size());
    for (std::size_t k = 0; k < plan.assignedTo(i).size(); ++k) {
      EXPECT_EQ(plan.assignedTo(i)[k].client->clientId, plan2.assignedTo(i)[k].client->clientId);
    }
  }
}

TEST(Plan, MoreInstancesThanUnitsLeavesSomeIdle) {
  const BridgeConfig cfg = configWith(4, "[{name: only, direction: local-to-remote, source: a}]");
  const Plan plan = Plan::build(cfg);
  EXPECT_EQ(plan.assignedTo(0).size(), 1u);
  EXPECT_TRUE(plan.assignedTo(1).empty());
  std::ostringstream os;
  PrintOptions po;
  po.instances = true;
  plan.print(os, po);
  EXPECT_NE(os.str().find("instance 0: p-only\n"), std::string::npos) << os.str();
  EXPECT_NE(os.str().find("instance 3: (idle)\n"), std::string::npos) << os.str();
}

TEST(Plan, PrintShowsEndpointsRoutesAndTheDetailsHook) {
  const BridgeConfig cfg = configWith(2, kRoutes);
  const Plan plan = Plan::build(cfg);
  std::ostringstream os;
  PrintOptions po;
  po.routeDetails = [](const RouteSpec& r) {
    return std::vector<std::string>{"stages: " + r.name + "-chain"};
  };
  plan.print(os, po);
  const std::string out = os.str();
  EXPECT_NE(out.find("connector bridge: protocol v5, 2 instances"), std::string::npos) << out;
  EXPECT_NE(out.find("remote: 127.0.0.1:1884 (mqtt, no TLS, auth anonymous)"), std::string::npos);
  EXPECT_NE(out.find("route a (topic map map): remote-to-local, a/+ -> x/y, QoS 1"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("subscription: $share/g/a/+"), std::string::npos);
  EXPECT_NE(out.find("client IDs: p-a-0 p-a-1 p-a-2 p-a-3"), std::string::npos);
  EXPECT_NE(out.find("b/# -> b/# (same as source)"), std::string::npos);
  EXPECT_NE(out.find("    stages: c-chain\n"), std::string::npos);
  EXPECT_EQ(out.find("instance 0:"), std::string::npos);  // only with --instances
}

}  // namespace
}  // namespace mqb::config
