#pragma once
// What the parts of the loader share; not part of the public API (config/loader.h).
//
//   loader.cc       reads files and YAML documents, dispatches each resource by kind
//   connector.cc    reads an MqttBridgeConnector's spec
//   topic_map.cc    reads an MqttBridgeTopicMap's spec and its routes
//   references.cc   resolves the Secrets, ConfigMaps and token file a connection refers to, and
//                   checks those files
//   cross_check.cc  checks the resources against each other
//
// Every function reports problems into the diagnostics it is given and never throws for bad
// input.

#include <yaml-cpp/yaml.h>

#include <string>

#include "config/diagnostics.h"
#include "config/loader.h"
#include "config/model.h"

namespace mqb::config::detail {

/// "" if `name` can name a Secret or ConfigMap, which becomes a directory name under a mount
/// point: not empty, no '/' or NUL, not "." or ".."; else what is wrong.
std::string objectNameError(const std::string& name);

/// Reads the `spec` of an MqttBridgeConnector into `c`, whose name is already set.
void readConnector(const YAML::Node& spec, const std::string& file, Diagnostics& diag,
                   ConnectorSpec& c);

/// Reads the `spec` of an MqttBridgeTopicMap into `t`, whose name is already set.
void readTopicMap(const YAML::Node& spec, const std::string& file, Diagnostics& diag,
                  TopicMapSpec& t);

/// The checks of a literal clientIdPrefix, route source and route target, each reported at
/// `where` under `path`; also applied to values after their ${env:NAME} references are expanded.
void checkClientIdPrefix(const std::string& prefix, const Location& where, const std::string& path,
                         Diagnostics& diag);
void checkSource(const std::string& source, const Location& where, const std::string& path,
                 Diagnostics& diag);
void checkTarget(const std::string& target, const Location& where, const std::string& path,
                 Diagnostics& diag);

/// Resolves the files `b`'s trusted-CA ConfigMap and authentication refer to, under the
/// directories of `o`; with o.checkFiles also checks that they exist and parse.
void resolveReferences(const LoadOptions& o, BrokerConnection& b, Diagnostics& diag);

/// The checks across resources (unique names, connector references, route names unique per
/// connector, MQTT 3.1.1 limits and loops) and the resolution of every connector's references.
void crossCheck(const LoadOptions& o, BridgeConfig& config, Diagnostics& diag);

}  // namespace mqb::config::detail
