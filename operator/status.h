#pragma once
// The `.status` the operator writes (status subresource), computed without API calls from what
// it observed. A condition keeps its lastTransitionTime while its status does not change, so
// the same observations give the same status and need no write.
//
// Connector:  observedGeneration, instances (wanted), readyInstances, ready ("2/3"), routes
//             (served: the routes of its accepted topic maps), conditions Ready, Progressing,
//             Degraded (reason + message; RemoteUnreachable / LocalUnreachable come from the
//             conditions the bridge pods write into their own status,
//             app/runtime/pod_conditions.h).
// Topic map:  observedGeneration, accepted, routes, messages (the validator's, "path: problem"),
//             condition Accepted.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mqb::op {

using Json = nlohmann::json;

struct Condition {
  std::string type;
  bool status = false;
  std::string reason;
  std::string message;
};

/// What the operator saw of one connector's instances and topic maps.
struct ConnectorObservation {
  std::int64_t generation = 0;
  int wanted = 0;                             ///< bridgeInstances
  int replicas = 0;                           ///< the StatefulSet's spec.replicas as last written
  int ready = 0;                              ///< the StatefulSet's status.readyReplicas
  int updated = 0;                            ///< status.updatedReplicas
  bool rolledOut = true;                      ///< status.observedGeneration == metadata.generation
  int routes = 0;                             ///< routes of accepted topic maps
  std::vector<std::string> invalidTopicMaps;  ///< names
  std::string connectorError;  ///< the connector itself is invalid (validator's words)
  std::string applyError;      ///< a write of the generated objects failed
  std::string podProblem;      ///< e.g. "mqtt-bridge-1: ImagePullBackOff: ..."
  /// Pods whose mqbridge.io/RemoteBrokerConnected (LocalBrokerConnected) is False, with the
  /// condition's message: "kc-1: connector kc: 0 of 3 clients connected to ..., last failure: ..."
  std::string remoteProblem, localProblem;
  std::string drainNote;  ///< scale-down waiting for leaving instances to drain
};

/// The connector's status; `previous` is the live status (for lastTransitionTime).
Json connectorStatus(const ConnectorObservation& o, const Json& previous, const std::string& now);

/// A topic map's status. `messages` empty: accepted.
Json topicMapStatus(std::int64_t generation, int routes, const std::vector<std::string>& messages,
                    const Json& previous, const std::string& now);

/// The conditions as JSON, each keeping previous lastTransitionTime when its status is unchanged.
Json conditionsJson(const std::vector<Condition>& conditions, const Json& previous,
                    std::int64_t generation, const std::string& now);

}  // namespace mqb::op
