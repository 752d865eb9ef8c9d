#pragma once
// Helpers for end-to-end tests through the real `mqbridge run` binary (tests/support/
// bridge_runner.h): spec-format resource YAML, test clients, and client-ID bookkeeping.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/bridge_runner.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/test_client.h"
#include "tests/support/wait.h"

namespace mqb::test::e2e {

/// One broker connection of a connector, as YAML lines under the connection key.
struct Conn {
  explicit Conn(std::string endpoint_, std::string tls_ = "tlsEnabled: false",
                std::string auth_ = "anonymous: {}", std::string protocol_ = "")
      : endpoint(std::move(endpoint_)),
        tls(std::move(tls_)),
        auth(std::move(auth_)),
        protocol(std::move(protocol_)) {}
  std::string endpoint;
  std::string tls;       ///< lines under `tls:`
  std::string auth;      ///< lines under `authentication:`
  std::string protocol;  ///< "" (default mqtt) or "webSocket"
  std::string extra;     ///< more lines under the connection key (extensions: proxy, failover)
};

inline std::string indentLines(const std::string& text, int n) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    out += std::string(static_cast<std::size_t>(n), ' ') + line + "\n";
  }
  return out;
}

inline std::string connYaml(const std::string& key, const Conn& c) {
  std::string y = "  " + key + ":\n    endpoint: " + c.endpoint + "\n";
  if (!c.protocol.empty()) {
    y += "    protocol: " + c.protocol + "\n";
  }
  y += "    tls:\n" + indentLines(c.tls, 6) + "    authentication:\n" + indentLines(c.auth, 6);
  y += indentLines(c.extra, 4);
  return y;
}

/// An MqttBridgeConnector in the spec's format.
inline std::string connectorYaml(const std::string& name, const std::string& protocol,
                                 const std::string& clientIdPrefix, const Conn& remote,
                                 const Conn& local, const std::string& extraSpec = "") {
  return "apiVersion: mq.iotoperations.azure.com/v1beta1\n"
         "kind: MqttBridgeConnector\n"
         "metadata:\n  name: " +
         name +
         "\n  namespace: azure-iot-operations\n"
         "spec:\n"
         "  image:\n    repository: mcr.microsoft.com/azureiotoperations/mqttbridge\n"
         "    tag: 0.1.0-preview\n    pullPolicy: IfNotPresent\n"
         "  protocol: " +
         protocol + "\n  bridgeInstances: 1\n  clientIdPrefix: " + clientIdPrefix +
         "\n  logLevel: info\n" + connYaml("remoteBrokerConnection", remote) +
         connYaml("localBrokerConnection", local) + extraSpec;
}

/// An MqttBridgeTopicMap; `routes` is the YAML list under `routes:` (any indentation of 4).
inline std::string topicMapYaml(const std::string& name, const std::string& connector,
                                const std::string& routes) {
  return "apiVersion: mq.iotoperations.azure.com/v1beta1\n"
         "kind: MqttBridgeTopicMap\n"
         "metadata:\n  name: " +
         name +
         "\n  namespace: azure-iot-operations\n"
         "spec:\n  mqttBridgeConnectorRef: " +
         connector + "\n  routes:\n" + routes;
}

inline Conn plain(const MosquittoBroker& b) { return Conn{b.endpoint("tcp")}; }

inline TestClientOptions clientOf(const MosquittoBroker& b, const std::string& id, bool v5 = true) {
  TestClientOptions o;
  o.uri = b.uri();
  o.clientId = id;
  o.v5 = v5;
  return o;
}

/// Received messages on `topic` only.
inline std::vector<ReceivedMessage> on(const TestClient& c, const std::string& topic) {
  std::vector<ReceivedMessage> out;
  for (auto& m : c.received()) {
    if (m.topic == topic) {
      out.push_back(m);
    }
  }
  return out;
}

inline std::vector<std::string> payloads(const std::vector<ReceivedMessage>& ms) {
  std::vector<std::string> out;
  for (auto& m : ms) {
    out.push_back(m.payload);
  }
  return out;
}

/// Client IDs a broker saw, without the tests' own clients (named "test-...").
inline std::set<std::string> bridgeIdsSeen(const MosquittoBroker& b) {
  std::set<std::string> out;
  for (auto& id : b.clientIdsSeen()) {
    if (id.rfind("test-", 0) != 0) {
      out.insert(id);
    }
  }
  return out;
}

inline std::set<std::string> asSet(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

/// Waits until `c` got at least `n` messages on `topic`.
inline bool waitOn(const TestClient& c, const std::string& topic, std::size_t n,
                   std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  return waitFor([&] { return on(c, topic).size() >= n; }, timeout);
}

}  // namespace mqb::test::e2e
