#pragma once
// Shared bits of the MQTT-layer integration tests.

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "app/runtime/client_options.h"
#include "mqtt/client.h"
#include "tests/support/direct_route.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/test_client.h"
#include "tests/support/wait.h"

namespace mqb::test {

using namespace std::chrono_literals;

/// Concatenation without `"literal" + std::string` (GCC 12 -Wrestrict false positive at -O2).
inline void catOne(std::string& out, std::string_view s) { out.append(s); }
inline void catOne(std::string& out, int i) { out.append(std::to_string(i)); }
template <typename... T>
std::string cat(const T&... parts) {
  std::string out;
  (catOne(out, parts), ...);
  return out;
}

inline mqtt::ClientOptions clientFor(const config::BrokerConnection& broker,
                                     const std::string& clientId,
                                     config::MqttVersion version = config::MqttVersion::V5,
                                     bool persistent = true) {
  mqtt::ClientOptions o;
  o.clientId = clientId;
  o.endpoint = app::endpointOf(broker);
  o.credentials = app::credentialsOf(broker.auth);
  o.version = version == config::MqttVersion::V5 ? mqtt::Version::V5 : mqtt::Version::V311;
  o.persistentSession = persistent;
  o.sessionExpirySeconds = persistent ? 600 : 0;
  o.minRetry = 100ms;
  o.maxRetry = 1000ms;
  o.stableAfter = 5000ms;
  o.connectTimeout = 5s;
  o.name = clientId;
  return o;
}

/// A route from `from` to `to` with the given filter/target (QoS 1, v5 unless told otherwise).
inline DirectRouteOptions routeOptions(const MosquittoBroker& from, const MosquittoBroker& to,
                                       const std::string& filter, std::optional<std::string> target,
                                       const std::string& name = "route1",
                                       config::MqttVersion version = config::MqttVersion::V5) {
  DirectRouteOptions o;
  o.source =
      clientFor(from.connection(), cat(std::string("bridge-"), name, std::string("-sub")), version);
  o.target = clientFor(to.connection(), cat(std::string("bridge-"), name, std::string("-pub")),
                       version, false);
  o.sourceOptions.filter = filter;
  o.sourceOptions.qos = 1;
  o.sourceOptions.hopMarkerValue = "test-connector";
  o.sinkOptions.hopMarkerValue = "test-connector";
  o.targetTopic = std::move(target);
  return o;
}

inline TestClientOptions testClientFor(const MosquittoBroker& b, const std::string& id,
                                       bool v5 = true) {
  TestClientOptions o;
  o.uri = b.uri();
  o.clientId = id;
  o.v5 = v5;
  return o;
}

}  // namespace mqb::test
