// Every YAML example of the spec (tests/data/spec/, verbatim) loads and means what the spec says.
//
// 01 (connector) and 06 (topic map) are complete resources and are loaded as they are, together.
// The other examples are fragments: `spec: ...` snippets of a connector, and bare `routes:`
// lists. The test merges each fragment into a minimal complete base resource (the spec's own
// 01 or 06): a `spec:` fragment is merged key by key into the connector's spec (an
// `authentication` mapping replaces the base's, since only one method is allowed), and a
// `routes:` fragment replaces the topic map's routes.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/plan.h"
#include "tests/unit/config/config_test_util.h"

namespace mqb::config {
namespace {

using namespace testing;

std::string specFile(const std::string& name) {
  return std::string(MQB_SOURCE_DIR) + "/tests/data/spec/" + name + ".yaml";
}

YAML::Node readSpec(const std::string& name) { return YAML::LoadFile(specFile(name)); }

void mergeInto(YAML::Node base, const YAML::Node& fragment) {
  for (const auto& kv : fragment) {
    const std::string key = kv.first.as<std::string>();
    if (kv.second.IsMap() && base[key].IsMap() && key != "authentication") {
      YAML::Node child;
      child.reset(base[key]);
      mergeInto(child, kv.second);
    } else {
      base[key] = kv.second;
    }
  }
}

LoadResult loadConnectorFragment(const std::string& name) {
  YAML::Node c = readSpec("01-connector");
  YAML::Node spec;
  spec.reset(c["spec"]);
  mergeInto(spec, readSpec(name)["spec"]);
  return loadPair(c, readSpec("06-topic-map"));
}

LoadResult loadRoutesFragment(const std::string& name, const std::string& prefix = "") {
  YAML::Node c = readSpec("01-connector");
  if (!prefix.empty()) {
    c["spec"]["clientIdPrefix"] = prefix;
  }
  YAML::Node m = readSpec("06-topic-map");
  m["spec"]["routes"] = readSpec(name)["routes"];
  return loadPair(c, m);
}

TEST(SpecExamples, CompleteResourcesLoadVerbatim) {
  LoadOptions o;
  o.paths = {specFile("01-connector"), specFile("06-topic-map")};
  const LoadResult r = load(o);
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  EXPECT_EQ(r.diagnostics.all().size(), 0u) << r.diagnostics.str();
  const ConnectorSpec& c = r.config->connectors.at(0);
  EXPECT_EQ(c.name, "my-mqtt-bridge");
  EXPECT_EQ(c.ns, "azure-iot-operations");
  EXPECT_EQ(c.image.repository, "mcr.microsoft.com/azureiotoperations/mqttbridge");
  EXPECT_EQ(c.image.tag, "0.1.0-preview");
  EXPECT_EQ(c.image.pullPolicy, "IfNotPresent");
  EXPECT_EQ(c.protocol, MqttVersion::V5);
  EXPECT_EQ(c.clientIdPrefix, "factory-gateway-");
  EXPECT_EQ(c.logLevel, LogLevel::Debug);
  EXPECT_EQ(c.remote.host, "example.westeurope-1.ts.eventgrid.azure.net");
  EXPECT_EQ(c.remote.port, 8883);
  EXPECT_TRUE(c.remote.tls.enabled);
  EXPECT_EQ(c.remote.auth.kind, AuthSpec::Kind::SystemAssignedManagedIdentity);
  EXPECT_EQ(c.remote.auth.audience, "https://eventgrid.azure.net");
  EXPECT_FALSE(c.localDefaulted);
  EXPECT_EQ(c.local.endpoint, "aio-mq-dmqtt-frontend:8883");
  EXPECT_EQ(c.local.auth.kind, AuthSpec::Kind::Kubernetes);

  const TopicMapSpec& t = r.config->topicMaps.at(0);
  EXPECT_EQ(t.connectorRef, "my-mqtt-bridge");
  ASSERT_EQ(t.routes.size(), 2u);
  EXPECT_EQ(t.routes[0].name, "first-route");
  EXPECT_EQ(t.routes[0].direction, Direction::RemoteToLocal);
  EXPECT_EQ(t.routes[0].qos, 0);
  EXPECT_EQ(t.routes[0].clientCount(), 3);
  EXPECT_EQ(subscriptionOf(t.routes[0]), "$share/group1/remote-topic");
  EXPECT_EQ(t.routes[1].name, "second-route");
  EXPECT_EQ(*t.routes[1].target, "remote-topic");
}

TEST(SpecExamples, NumberOfInstances) {
  const LoadResult r = loadConnectorFragment("02-bridge-instances");
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  EXPECT_EQ(r.config->connectors[0].bridgeInstances, 2);
}

TEST(SpecExamples, ManagedIdentity) {
  const LoadResult r = loadConnectorFragment("03-managed-identity");
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  EXPECT_EQ(r.config->connectors[0].remote.auth.audience, "https://eventgrid.azure.net");
}

TEST(SpecExamples, X509) {
  const LoadResult r = loadConnectorFragment("04-x509");
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  const AuthSpec& a = r.config->connectors[0].remote.auth;
  EXPECT_EQ(a.kind, AuthSpec::Kind::X509);
  EXPECT_EQ(a.secretName, "bridge-client-cert");
  EXPECT_EQ(a.certFile, "/var/run/secrets/mqbridge/bridge-client-cert/client_cert.pem");
}

TEST(SpecExamples, LocalBrokerConnection) {
  const LoadResult r = loadConnectorFragment("05-local-broker");
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  const BrokerConnection& l = r.config->connectors[0].local;
  EXPECT_EQ(l.endpoint, "aio-mq-dmqtt-frontend:8883");
  EXPECT_EQ(l.tls.trustedCaCertificateConfigMap, "aio-ca-trust-bundle-test-only");
}

TEST(SpecExamples, Direction) {
  const LoadResult a = loadRoutesFragment("07-direction-local-to-remote");
  ASSERT_TRUE(a.ok()) << a.diagnostics.str();
  const RouteSpec& send = a.config->topicMaps[0].routes[0];
  EXPECT_EQ(send.name, "send-alerts");
  EXPECT_EQ(send.direction, Direction::LocalToRemote);
  EXPECT_EQ(send.source, "alerts");
  EXPECT_EQ(*send.target, "factory/alerts");
  const LoadResult b = loadRoutesFragment("08-direction-remote-to-local");
  ASSERT_TRUE(b.ok()) << b.diagnostics.str();
  const RouteSpec& recv = b.config->topicMaps[0].routes[0];
  EXPECT_EQ(recv.direction, Direction::RemoteToLocal);
  EXPECT_EQ(recv.source, "commands/factory");
  EXPECT_FALSE(recv.target.has_value());  // same topic as the source
}

TEST(SpecExamples, WildcardSourceAndTargetSameAsSource) {
  const LoadResult a = loadRoutesFragment("09-wildcard-source");
  ASSERT_TRUE(a.ok()) << a.diagnostics.str();
  EXPECT_EQ(a.config->topicMaps[0].routes[0].source, "telemetry/#");
  const LoadResult b = loadRoutesFragment("10-target-same-as-source");
  ASSERT_TRUE(b.ok()) << b.diagnostics.str();
  EXPECT_EQ(b.config->topicMaps[0].routes[0].source, "my-topic/#");
  EXPECT_FALSE(b.config->topicMaps[0].routes[0].target.has_value());
}

TEST(SpecExamples, SharedSubscriptionWithoutRouteName) {
  const LoadResult r = loadRoutesFragment("11-shared-subscription", "client-");
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  const RouteSpec& route = r.config->topicMaps[0].routes[0];
  EXPECT_EQ(route.name, "route1");
  EXPECT_TRUE(hasWarning(r, "spec.routes[0].name", "route1"));
  EXPECT_EQ(subscriptionOf(route), "$share/sub-group/shared-sub-topic");
  const Plan plan = Plan::build(*r.config);
  ASSERT_EQ(plan.connectors()[0].routes[0].clients.size(), 3u);  // "three subscriber clients"
  EXPECT_EQ(plan.connectors()[0].routes[0].clients[0].clientId, "client-route1-0");
  EXPECT_EQ(plan.connectors()[0].routes[0].clients[2].clientId, "client-route1-2");
}

TEST(SpecExamples, ClientIdsClientRoute1AndClientRoute2) {
  // "if clientIdPrefix: "client-", and there are two routes in the topic map, the client IDs
  // are: client-route1 and client-route2" -- with unnamed routes (named by position).
  YAML::Node c = readSpec("01-connector");
  c["spec"]["clientIdPrefix"] = "client-";
  YAML::Node m = readSpec("06-topic-map");
  m["spec"]["routes"] = YAML::Load(
      "[{direction: local-to-remote, source: a}, {direction: remote-to-local, source: b}]");
  const LoadResult r = loadPair(c, m);
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  const Plan plan = Plan::build(*r.config);
  std::vector<std::string> ids;
  for (const auto& rp : plan.connectors()[0].routes) {
    for (const auto& cl : rp.clients) {
      ids.push_back(cl.clientId);
    }
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"client-route1", "client-route2"}));
}

TEST(SpecExamples, ShippedExamplesValidate) {
  for (const char* dir : {"/examples/config", "/examples/config/stage-plugin"}) {
    LoadOptions o;
    o.paths = {std::string(MQB_SOURCE_DIR) + dir};
    const LoadResult r = load(o);
    ASSERT_TRUE(r.ok()) << dir << ": " << r.diagnostics.str();
    EXPECT_EQ(r.diagnostics.all().size(), 0u) << dir << ": " << r.diagnostics.str();
  }
}

}  // namespace
}  // namespace mqb::config
