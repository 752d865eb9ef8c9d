#pragma once
// The objects that run one MqttBridgeConnector, computed from the connector alone (pure: no API
// calls, same input gives the same JSON): a StatefulSet with one pod per bridge instance, its
// headless Service and a metrics Service. Each pod runs `mqbridge run --kube --kube-connector
// <name>` with the connector's image, pull policy and log level, and mounts what the connector
// names (x509 / usernamePassword Secrets, trusted CA ConfigMaps, a projected service account
// token for `kubernetes: {}`, the Azure Arc agent's key directory for
// `systemAssignedManagedIdentity` when PodDefaults names the agent) at the paths `mqbridge run`
// reads by default. Every object carries
// an ownerReference to the connector, so deleting the connector deletes them.

#include <nlohmann/json.hpp>
#include <string>

#include "config/model.h"

namespace mqb::op {

using Json = nlohmann::json;

/// Settings of the generated pods that the connector does not carry.
struct PodDefaults {
  std::string serviceAccount = "mqbridge-bridge";  ///< may read the resources (list, watch)
  int metricsPort = 9400;
  int drainSeconds = 10;          ///< --drain-seconds; the grace period is drain + 20 s
  std::string spoolSize = "1Gi";  ///< the spool PVC of each instance
  /// The Azure Arc agent's token endpoint, as the pods reach it. When set, a connector with
  /// systemAssignedManagedIdentity gets IDENTITY_ENDPOINT and the agent's key directory
  /// (arcKeyDir, a hostPath, read-only at the same path); empty: such pods ask the Azure
  /// instance metadata endpoint, as on an Azure VM or AKS node, and need no mount.
  std::string arcIdentityEndpoint;
  std::string arcKeyDir = "/var/opt/azcmagent/tokens";
};

/// The label every generated object carries (and the operator's watches select on).
inline constexpr const char* kManagedByLabel = "app.kubernetes.io/managed-by";
inline constexpr const char* kManagedBy = "mqbridge-operator";
inline constexpr const char* kInstanceLabel = "app.kubernetes.io/instance";

struct Desired {
  Json statefulSet;
  Json headlessService;
  Json metricsService;
};

/// `connector`: the resource as read from the API (metadata.name, namespace, uid are used);
/// `spec`: the same connector as the loader resolved it (defaults applied).
Desired desiredObjects(const Json& connector, const config::ConnectorSpec& spec,
                       const PodDefaults& defaults);

/// Names of the generated objects: the StatefulSet and the headless Service are named like the
/// connector (so pods are <connector>-<i>), the metrics Service <connector>-metrics.
std::string statefulSetName(const std::string& connector);
std::string metricsServiceName(const std::string& connector);

/// The ownerReference (controller) that points at `owner`.
Json ownerReference(const Json& owner);

/// "repository:tag" (repository alone when the tag is empty).
std::string imageOf(const config::ImageSpec& image);

}  // namespace mqb::op
