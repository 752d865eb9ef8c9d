// The operator's pure parts: the objects it generates for a connector (desired.h), when a live
// object needs a write (compare.h), the status it computes (status.h) and --render (render.h).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/loader.h"
#include "operator/compare.h"
#include "operator/desired.h"
#include "operator/render.h"
#include "operator/status.h"

namespace mqb::op {
namespace {

const char* kConnectorYaml = R"(apiVersion: mq.iotoperations.azure.com/v1beta1
kind: MqttBridgeConnector
metadata:
  name: edge
  namespace: plant
spec:
  image:
    repository: registry.example/mqbridge
    tag: "2.0"
    pullPolicy: Never
  protocol: v5
  bridgeInstances: 3
  clientIdPrefix: e-
  logLevel: warn
  remoteBrokerConnection:
    endpoint: cloud.example:8883
    tls:
      tlsEnabled: true
      trustedCaCertificateConfigMap: cloud-ca
    authentication:
      x509:
        secretName: edge-cert
)";

Json connectorObject() {
  Json c = yamlToJson(YAML::Load(kConnectorYaml));
  c["metadata"]["uid"] = "uid-edge";
  return c;
}

config::ConnectorSpec specOf() {
  config::LoadResult r = config::loadText(kConnectorYaml, "edge.yaml", config::LoadOptions{});
  EXPECT_TRUE(r.ok()) << r.diagnostics.str();
  return r.config->connectors.at(0);
}

const Json* mountAt(const Json& sts, const std::string& path) {
  for (const auto& m : sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]) {
    if (m["mountPath"] == path) {
      return &m;
    }
  }
  return nullptr;
}

TEST(OperatorDesired, EveryConnectorFieldShowsInTheStatefulSet) {
  const Desired d = desiredObjects(connectorObject(), specOf(), PodDefaults{});
  const Json& sts = d.statefulSet;
  EXPECT_EQ(sts["metadata"]["name"], "edge");
  EXPECT_EQ(sts["metadata"]["namespace"], "plant");
  EXPECT_EQ(sts["spec"]["replicas"], 3);
  const Json& c = sts["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(c["image"], "registry.example/mqbridge:2.0");
  EXPECT_EQ(c["imagePullPolicy"], "Never");
  const std::vector<std::string> args = c["args"];
  EXPECT_NE(std::find(args.begin(), args.end(), "--kube-connector=edge"), args.end());
  EXPECT_NE(std::find(args.begin(), args.end(), "--log-level=warn"), args.end());
  // The Secret, the CA ConfigMap, and (default local broker: kubernetes auth) the SAT.
  EXPECT_NE(mountAt(sts, "/var/run/secrets/mqbridge/edge-cert"), nullptr);
  EXPECT_NE(mountAt(sts, "/var/run/configmaps/cloud-ca"), nullptr);
  EXPECT_NE(mountAt(sts, "/var/run/configmaps/aio-ca-trust-bundle-test-only"), nullptr);
  EXPECT_NE(mountAt(sts, "/var/run/secrets/tokens"), nullptr);
  EXPECT_NE(mountAt(sts, "/var/lib/mqbridge"), nullptr);
  EXPECT_EQ(sts["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"], true);
  EXPECT_EQ(c["securityContext"]["readOnlyRootFilesystem"], true);
  for (const Json* o : {&d.statefulSet, &d.headlessService, &d.metricsService}) {
    EXPECT_EQ((*o)["metadata"]["ownerReferences"][0]["uid"], "uid-edge");
    EXPECT_EQ((*o)["metadata"]["ownerReferences"][0]["controller"], true);
  }
  EXPECT_EQ(d.headlessService["spec"]["clusterIP"], "None");
  EXPECT_EQ(d.metricsService["metadata"]["name"], "edge-metrics");
  // Pure: the same input gives the same objects.
  EXPECT_EQ(desiredObjects(connectorObject(), specOf(), PodDefaults{}).statefulSet, sts);
}

TEST(OperatorDesired, ManagedIdentityThroughTheArcAgentWhenTheOperatorNamesIt) {
  Json connector = connectorObject();
  config::ConnectorSpec spec = specOf();
  spec.remote.auth.kind = config::AuthSpec::Kind::SystemAssignedManagedIdentity;
  // Without an Arc endpoint: the instance metadata endpoint, no hostPath.
  Json sts = desiredObjects(connector, spec, PodDefaults{}).statefulSet;
  EXPECT_EQ(mountAt(sts, "/var/opt/azcmagent/tokens"), nullptr);
  PodDefaults arc;
  arc.arcIdentityEndpoint = "http://10.0.0.1:40342/metadata/identity/oauth2/token";
  arc.arcKeyDir = "/var/opt/azcmagent/tokens";
  sts = desiredObjects(connector, spec, arc).statefulSet;
  const Json* mount = mountAt(sts, "/var/opt/azcmagent/tokens");
  ASSERT_NE(mount, nullptr);
  EXPECT_EQ((*mount)["readOnly"], true);
  const Json& pod = sts["spec"]["template"]["spec"];
  bool hostPath = false;
  for (const auto& v : pod["volumes"]) {
    hostPath = hostPath || (v["name"] == (*mount)["name"] &&
                            v["hostPath"]["path"] == "/var/opt/azcmagent/tokens");
  }
  EXPECT_TRUE(hostPath) << pod["volumes"].dump();
  const Json& c = pod["containers"][0];
  bool env = false;
  for (const auto& e : c["env"]) {
    env = env || (e["name"] == "IDENTITY_ENDPOINT" && e["value"] == arc.arcIdentityEndpoint);
  }
  EXPECT_TRUE(env) << c["env"].dump();
  const std::vector<std::string> args = c["args"];
  EXPECT_NE(std::find(args.begin(), args.end(), "--arc-key-dir=/var/opt/azcmagent/tokens"),
            args.end());
  // A connector without managed identity gets none of it from the same operator.
  EXPECT_EQ(
      mountAt(desiredObjects(connector, specOf(), arc).statefulSet, "/var/opt/azcmagent/tokens"),
      nullptr);
}

TEST(OperatorCompare, OnlyFieldsWeSetDecide) {
  const Json desired = {{"spec", {{"replicas", 2}, {"list", {1, 2}}}}};
  Json live = desired;
  live["spec"]["defaulted"] = "by the server";
  live["status"] = {{"x", 1}};
  EXPECT_TRUE(covers(live, desired));
  live["spec"]["replicas"] = 2.0;
  EXPECT_TRUE(covers(live, desired));
  live["spec"]["replicas"] = 7;
  EXPECT_FALSE(covers(live, desired));
  live["spec"]["replicas"] = 2;
  live["spec"]["list"] = {1, 2, 3};
  EXPECT_FALSE(covers(live, desired));
  EXPECT_FALSE(covers(Json::object(), desired));
}

TEST(OperatorStatus, ConditionsKeepTheirTransitionTimeWhileUnchanged) {
  ConnectorObservation o;
  o.generation = 4;
  o.wanted = 3;
  o.replicas = 3;
  o.ready = 2;
  o.updated = 3;
  o.routes = 5;
  const Json first = connectorStatus(o, Json(), "T1");
  EXPECT_EQ(first["ready"], "2/3");
  EXPECT_EQ(first["observedGeneration"], 4);
  EXPECT_EQ(first["conditions"][0]["status"], "False");
  EXPECT_EQ(first["conditions"][0]["reason"], "InstancesNotReady");
  // Same observation later: identical status (no write needed).
  EXPECT_EQ(connectorStatus(o, first, "T2"), first);
  o.ready = 3;
  const Json second = connectorStatus(o, first, "T3");
  EXPECT_EQ(second["conditions"][0]["status"], "True");
  EXPECT_EQ(second["conditions"][0]["lastTransitionTime"], "T3");
  EXPECT_EQ(second["conditions"][2]["lastTransitionTime"], "T1");  // Degraded stayed False
  o.invalidTopicMaps = {"bad"};
  EXPECT_EQ(connectorStatus(o, second, "T4")["conditions"][2]["reason"], "InvalidTopicMap");
}

TEST(OperatorStatus, UnreachableBrokersAreTheReasonForNotReady) {
  ConnectorObservation o;
  o.wanted = 2;
  o.replicas = 2;
  o.updated = 2;
  o.ready = 1;
  o.remoteProblem = "kc-1: connector kc: 0 of 1 clients connected to 10.0.0.9:8883";
  Json s = connectorStatus(o, Json(), "T1");
  EXPECT_EQ(s["conditions"][0]["reason"], "RemoteUnreachable");
  EXPECT_NE(s["conditions"][0]["message"].get<std::string>().find("1/2 instances ready; kc-1: "),
            std::string::npos)
      << s.dump();
  EXPECT_EQ(s["conditions"][2]["status"], "True");
  EXPECT_EQ(s["conditions"][2]["reason"], "RemoteUnreachable");
  EXPECT_EQ(s["conditions"][2]["message"], o.remoteProblem);
  // The local side is named when the remote one is fine; an image that cannot be pulled comes
  // first (nothing runs to reach anything).
  o.remoteProblem.clear();
  o.localProblem = "kc-0: connector kc: 0 of 2 clients connected to aio-mq:8883";
  s = connectorStatus(o, Json(), "T1");
  EXPECT_EQ(s["conditions"][0]["reason"], "LocalUnreachable");
  EXPECT_EQ(s["conditions"][2]["reason"], "LocalUnreachable");
  o.podProblem = "kc-1: ImagePullBackOff: not found";
  EXPECT_EQ(connectorStatus(o, Json(), "T1")["conditions"][2]["reason"], "InstanceFailing");
  // Every instance ready: Ready says so whatever a lagging pod condition still says.
  o.ready = 2;
  EXPECT_EQ(connectorStatus(o, Json(), "T1")["conditions"][0]["reason"], "InstancesReady");
}

TEST(OperatorRender, AnInvalidTopicMapCarriesTheValidatorsMessage) {
  const Json tm = yamlToJson(YAML::Load(R"(apiVersion: mq.iotoperations.azure.com/v1beta1
kind: MqttBridgeTopicMap
metadata: {name: tm, namespace: plant}
spec:
  mqttBridgeConnectorRef: edge
  routes:
    - {name: r, direction: local-to-remote, qos: 1, source: "a/b#"}
)"));
  const std::vector<Json> out = render({connectorObject(), tm}, PodDefaults{}, nullptr, "T");
  ASSERT_EQ(out.size(), 5u);  // connector, StatefulSet, 2 Services, topic map
  const Json& status = out.back()["status"];
  EXPECT_EQ(status["accepted"], false);
  ASSERT_EQ(status["messages"].size(), 1u);
  EXPECT_EQ(status["messages"][0].get<std::string>().rfind("spec.routes[0].source: ", 0), 0u)
      << status.dump();
  EXPECT_EQ(out.front()["status"]["conditions"][2]["reason"], "InvalidTopicMap");
}

}  // namespace
}  // namespace mqb::op
