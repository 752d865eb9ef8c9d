#include "operator/desired.h"

#include <set>

namespace mqb::op {
namespace {

const char* levelName(config::LogLevel l) {
  switch (l) {
    case config::LogLevel::Debug:
      return "debug";
    case config::LogLevel::Warn:
      return "warn";
    case config::LogLevel::Error:
      return "error";
    case config::LogLevel::Info:
      break;
  }
  return "info";
}

/// The Secrets, CA ConfigMaps and whether a service account token is needed.
struct Mounts {
  std::set<std::string> secrets;
  std::set<std::string> configMaps;
  bool saToken = false;
  bool managedIdentity = false;
};

Mounts mountsOf(const config::ConnectorSpec& c) {
  Mounts m;
  for (const config::BrokerConnection* b : {&c.remote, &c.local}) {
    if (!b->auth.secretName.empty()) {
      m.secrets.insert(b->auth.secretName);
    }
    if (b->tls.enabled && !b->tls.trustedCaCertificateConfigMap.empty()) {
      m.configMaps.insert(b->tls.trustedCaCertificateConfigMap);
    }
    if (b->auth.kind == config::AuthSpec::Kind::Kubernetes) {
      m.saToken = true;
    }
    if (b->auth.kind == config::AuthSpec::Kind::SystemAssignedManagedIdentity) {
      m.managedIdentity = true;
    }
  }
  return m;
}

Json labels(const std::string& connector) {
  return {{"app.kubernetes.io/name", "mqbridge"},
          {kInstanceLabel, connector},
          {"app.kubernetes.io/part-of", "mqbridge"},
          {kManagedByLabel, kManagedBy}};
}

Json selectorLabels(const std::string& connector) {
  return {{"app.kubernetes.io/name", "mqbridge"}, {kInstanceLabel, connector}};
}

Json metadata(const Json& connector, const std::string& name) {
  return {{"name", name},
          {"namespace", connector.value("/metadata/namespace"_json_pointer, "")},
          {"labels", labels(connector.value("/metadata/name"_json_pointer, ""))},
          {"ownerReferences", Json::array({ownerReference(connector)})}};
}

/// Managed identity through the Azure Arc agent: its endpoint, and its key directory at the same
/// path (the agent's challenge names the key file by its host path).
void addArcIdentity(const PodDefaults& d, Json& volumes, Json& mountsJson, Json& env) {
  env.push_back({{"name", "IDENTITY_ENDPOINT"}, {"value", d.arcIdentityEndpoint}});
  volumes.push_back(
      {{"name", "arc-tokens"}, {"hostPath", {{"path", d.arcKeyDir}, {"type", "Directory"}}}});
  mountsJson.push_back({{"name", "arc-tokens"}, {"mountPath", d.arcKeyDir}, {"readOnly", true}});
}

/// Volumes and mounts: spool (claim template), /tmp, and what the connector names.
void addVolumes(const Mounts& m, Json& volumes, Json& mountsJson) {
  volumes.push_back({{"name", "tmp"}, {"emptyDir", {{"sizeLimit", "64Mi"}}}});
  mountsJson.push_back({{"name", "spool"}, {"mountPath", "/var/lib/mqbridge"}});
  mountsJson.push_back({{"name", "tmp"}, {"mountPath", "/tmp"}});
  int i = 0;
  for (const auto& s : m.secrets) {
    const std::string name = "secret-" + std::to_string(i++);
    volumes.push_back({{"name", name}, {"secret", {{"secretName", s}, {"optional", true}}}});
    mountsJson.push_back(
        {{"name", name}, {"mountPath", "/var/run/secrets/mqbridge/" + s}, {"readOnly", true}});
  }
  i = 0;
  for (const auto& cm : m.configMaps) {
    const std::string name = "ca-" + std::to_string(i++);
    volumes.push_back({{"name", name}, {"configMap", {{"name", cm}, {"optional", true}}}});
    mountsJson.push_back(
        {{"name", name}, {"mountPath", "/var/run/configmaps/" + cm}, {"readOnly", true}});
  }
  if (m.saToken) {
    // IoT MQ's service account token authentication expects the audience aio-mq.
    volumes.push_back({{"name", "mq-sat"},
                       {"projected",
                        {{"sources", Json::array({{{"serviceAccountToken",
                                                    {{"audience", "aio-mq"},
                                                     {"expirationSeconds", 86400},
                                                     {"path", "mq-sat"}}}}})}}}});
    mountsJson.push_back(
        {{"name", "mq-sat"}, {"mountPath", "/var/run/secrets/tokens"}, {"readOnly", true}});
  }
}

Json container(const std::string& connector, const config::ConnectorSpec& spec,
               const PodDefaults& d, Json mounts) {
  const Json probe = {{"httpGet", {{"path", "/healthz"}, {"port", "metrics"}}},
                      {"initialDelaySeconds", 5},
                      {"periodSeconds", 10},
                      {"timeoutSeconds", 2},
                      {"failureThreshold", 3}};
  const Json readiness = {{"httpGet", {{"path", "/readyz"}, {"port", "metrics"}}},
                          {"periodSeconds", 5},
                          {"timeoutSeconds", 2},
                          {"failureThreshold", 2}};
  return {
      {"name", "mqbridge"},
      {"image", imageOf(spec.image)},
      {"imagePullPolicy", spec.image.pullPolicy.empty() ? "IfNotPresent" : spec.image.pullPolicy},
      // The image's entrypoint is `mqbridge run`.
      {"args",
       {"--kube", "--kube-connector=" + connector,
        std::string("--log-level=").append(levelName(spec.logLevel)),
        "--metrics-address=0.0.0.0:" + std::to_string(d.metricsPort),
        "--state-dir=/var/lib/mqbridge", "--secrets-dir=/var/run/secrets/mqbridge",
        "--configmaps-dir=/var/run/configmaps", "--sa-token-file=/var/run/secrets/tokens/mq-sat",
        "--drain-seconds=" + std::to_string(d.drainSeconds)}},
      {"env",
       {{{"name", "MQBRIDGE_INSTANCE_INDEX"},
         {"valueFrom",
          {{"fieldRef", {{"fieldPath", "metadata.labels['apps.kubernetes.io/pod-index']"}}}}}},
        {{"name", "MQBRIDGE_NAMESPACE"},
         {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.namespace"}}}}}},
        // The bridge writes its broker connectivity as conditions of this pod's status.
        {{"name", "MQBRIDGE_POD_NAME"},
         {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}}}},
      {"ports", {{{"name", "metrics"}, {"containerPort", d.metricsPort}, {"protocol", "TCP"}}}},
      {"livenessProbe", probe},
      {"readinessProbe", readiness},
      {"resources",
       {{"requests", {{"cpu", "250m"}, {"memory", "128Mi"}}},
        {"limits", {{"cpu", "1"}, {"memory", "512Mi"}}}}},
      {"securityContext",
       {{"runAsNonRoot", true},
        {"allowPrivilegeEscalation", false},
        {"readOnlyRootFilesystem", true},
        {"capabilities", {{"drop", {"ALL"}}}}}},
      {"volumeMounts", std::move(mounts)},
  };
}

Json statefulSet(const Json& connector, const config::ConnectorSpec& spec, const PodDefaults& d) {
  const std::string name = connector.value("/metadata/name"_json_pointer, "");
  Json volumes = Json::array();
  Json mounts = Json::array();
  const Mounts m = mountsOf(spec);
  addVolumes(m, volumes, mounts);
  Json c = container(name, spec, d, std::move(mounts));
  if (m.managedIdentity && !d.arcIdentityEndpoint.empty()) {
    addArcIdentity(d, volumes, c["volumeMounts"], c["env"]);
    c["args"].push_back("--arc-key-dir=" + d.arcKeyDir);
  }
  const Json podSpec = {
      {"serviceAccountName", d.serviceAccount},
      // Longer than --drain-seconds: the bridge drains and flushes its spool before SIGKILL.
      {"terminationGracePeriodSeconds", d.drainSeconds + 20},
      {"securityContext",
       {{"runAsNonRoot", true},
        {"runAsUser", 65532},
        {"runAsGroup", 65532},
        {"fsGroup", 65532},
        {"fsGroupChangePolicy", "OnRootMismatch"},
        {"seccompProfile", {{"type", "RuntimeDefault"}}}}},
      {"containers", Json::array({std::move(c)})},
      {"volumes", std::move(volumes)},
  };
  return {
      {"apiVersion", "apps/v1"},
      {"kind", "StatefulSet"},
      {"metadata", metadata(connector, statefulSetName(name))},
      {"spec",
       {{"replicas", spec.bridgeInstances},
        {"serviceName", name},
        {"podManagementPolicy", "Parallel"},
        {"updateStrategy", {{"type", "RollingUpdate"}}},
        // Spools outlive scale-down and deletion: messages in them are never thrown away.
        {"persistentVolumeClaimRetentionPolicy",
         {{"whenScaled", "Retain"}, {"whenDeleted", "Retain"}}},
        {"selector", {{"matchLabels", selectorLabels(name)}}},
        {"template", {{"metadata", {{"labels", labels(name)}}}, {"spec", podSpec}}},
        {"volumeClaimTemplates",
         {{{"metadata", {{"name", "spool"}}},
           {"spec",
            {{"accessModes", {"ReadWriteOnce"}},
             {"resources", {{"requests", {{"storage", d.spoolSize}}}}}}}}}}}},
  };
}

}  // namespace

std::string statefulSetName(const std::string& connector) { return connector; }

std::string metricsServiceName(const std::string& connector) { return connector + "-metrics"; }

std::string imageOf(const config::ImageSpec& image) {
  return image.tag.empty() ? image.repository : image.repository + ":" + image.tag;
}

Json ownerReference(const Json& owner) {
  return {{"apiVersion", owner.value("apiVersion", config::kApiVersion)},
          {"kind", owner.value("kind", config::kConnectorKind)},
          {"name", owner.value("/metadata/name"_json_pointer, "")},
          {"uid", owner.value("/metadata/uid"_json_pointer, "")},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

Desired desiredObjects(const Json& connector, const config::ConnectorSpec& spec,
                       const PodDefaults& defaults) {
  const std::string name = connector.value("/metadata/name"_json_pointer, "");
  const Json port = {{"name", "metrics"},
                     {"port", defaults.metricsPort},
                     {"targetPort", "metrics"},
                     {"protocol", "TCP"}};
  Desired d;
  d.statefulSet = statefulSet(connector, spec, defaults);
  // Headless: the StatefulSet's serviceName, a stable DNS name per instance.
  d.headlessService = {{"apiVersion", "v1"},
                       {"kind", "Service"},
                       {"metadata", metadata(connector, name)},
                       {"spec",
                        {{"clusterIP", "None"},
                         {"publishNotReadyAddresses", true},
                         {"selector", selectorLabels(name)},
                         {"ports", Json::array({port})}}}};
  Json md = metadata(connector, metricsServiceName(name));
  md["labels"]["app.kubernetes.io/component"] = "metrics";
  md["annotations"] = {{"prometheus.io/scrape", "true"},
                       {"prometheus.io/port", std::to_string(defaults.metricsPort)},
                       {"prometheus.io/path", "/metrics"}};
  d.metricsService = {
      {"apiVersion", "v1"},
      {"kind", "Service"},
      {"metadata", std::move(md)},
      {"spec", {{"selector", selectorLabels(name)}, {"ports", Json::array({port})}}}};
  return d;
}

}  // namespace mqb::op
