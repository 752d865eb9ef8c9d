#pragma once
// The MQTT client's options for one broker connection of a connector: the configuration model
// (config/model.h) translated into the plain options of mqtt/client.h.

#include <string>
#include <vector>

#include "config/model.h"
#include "mqtt/client.h"

namespace mqb::app {

/// The broker's `endpoint` with TLS, ALPN, WebSocket and the proxy that applies to its host.
mqtt::Endpoint endpointOf(const config::BrokerConnection& broker);
/// The failover endpoints, each like endpointOf() but with its own host, port and proxy decision.
std::vector<mqtt::Endpoint> fallbacksOf(const config::BrokerConnection& broker);
mqtt::Credentials credentialsOf(const config::AuthSpec& auth);

/// Options of a client of connector `c` on `broker`: endpoint, credentials, protocol version,
/// keep-alive, session expiry, maximum packet size, failover endpoints and the check of the
/// primary; `name` is for logs.
mqtt::ClientOptions clientOptions(const config::ConnectorSpec& c,
                                  const config::BrokerConnection& broker,
                                  const std::string& clientId, const std::string& name);

}  // namespace mqb::app
