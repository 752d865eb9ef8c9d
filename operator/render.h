#pragma once
// `mqbridge operator --render`: what the operator would write for a set of resources, without
// an API server: every connector and topic map with the status it would get before any instance
// is ready, and each valid connector's StatefulSet and Services (desired.h). For review and for
// the offline manifest checks (tests/scripts/k8s), which validate the result against the
// Kubernetes OpenAPI schemas and the CRDs' status schemas.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/kube/source.h"
#include "operator/desired.h"

namespace mqb::op {

/// `resources`: MqttBridgeConnector and MqttBridgeTopicMap objects (others are ignored). A
/// missing metadata.namespace is "default", a missing uid a placeholder.
std::vector<Json> render(const std::vector<Json>& resources, const PodDefaults& pods,
                         const config::kube::Validate& validate, const std::string& now);

/// A YAML document as JSON (plain integers, booleans and null typed; every other scalar a string).
Json yamlToJson(const YAML::Node& n);

}  // namespace mqb::op
