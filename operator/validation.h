#pragma once
// The config validator's verdict on the resources of one namespace, as the operator reports it:
// each connector valid (its resolved spec) or not (the messages), each topic map accepted (its
// routes) or not, with the validator's messages as "field path: problem", the words of
// `mqbridge validate`. A topic map is checked together with its connector.

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/kube/source.h"
#include "config/model.h"
#include "operator/status.h"

namespace mqb::op {

using Json = nlohmann::json;

/// The validator's verdict on every resource of one namespace.
struct Validation {
  std::map<std::string, config::ConnectorSpec> connectors;       ///< valid, by name
  std::map<std::string, std::string> connectorErrors;            ///< invalid, by name
  std::map<std::string, std::vector<std::string>> topicMapErrs;  ///< by topic map name
  std::map<std::string, int> topicMapRoutes;                     ///< accepted ones, by name
};

/// `connectors` and `topicMaps` by name, as read from the API.
Validation validateAll(const std::map<std::string, Json>& connectors,
                       const std::map<std::string, Json>& topicMaps,
                       const config::kube::Validate& validate);

/// Adds to `o` the routes of the connector's accepted topic maps and the names of its invalid ones.
void countTopicMaps(const std::string& connector, const std::map<std::string, Json>& topicMaps,
                    const Validation& v, ConnectorObservation& o);

}  // namespace mqb::op
