#include "app/runtime/client_options.h"

namespace mqb::app {

mqtt::Endpoint endpointOf(const config::BrokerConnection& broker) {
  mqtt::Endpoint e;
  e.host = broker.host;
  e.port = broker.port;
  e.tls = broker.tls.enabled;
  e.websocket = broker.transport == config::Transport::WebSocket;
  e.caFiles = broker.tls.caFiles;
  return e;
}

mqtt::Credentials credentialsOf(const config::AuthSpec& auth) {
  using K = config::AuthSpec::Kind;
  mqtt::Credentials c;
  switch (auth.kind) {
    case K::Anonymous:
      c.kind = mqtt::Credentials::Kind::Anonymous;
      break;
    case K::UsernamePassword:
      c.kind = mqtt::Credentials::Kind::UsernamePassword;
      break;
    case K::X509:
      c.kind = mqtt::Credentials::Kind::X509;
      break;
    case K::Kubernetes:
      c.kind = mqtt::Credentials::Kind::KubernetesToken;
      break;
    case K::SystemAssignedManagedIdentity:
      c.kind = mqtt::Credentials::Kind::ManagedIdentity;
      break;
  }
  c.usernameFile = auth.usernameFile;
  c.passwordFile = auth.passwordFile;
  c.certFile = auth.certFile;
  c.keyFile = auth.keyFile;
  c.intermediateFile = auth.intermediateFile;
  c.tokenFile = auth.tokenFile;
  c.audience = auth.audience;
  if (!auth.arcKeyDir.empty()) {
    c.arcKeyDirectory = auth.arcKeyDir;
  }
  return c;
}

mqtt::ClientOptions clientOptions(const config::ConnectorSpec& c,
                                  const config::BrokerConnection& broker,
                                  const std::string& clientId, const std::string& name) {
  mqtt::ClientOptions o;
  o.clientId = clientId;
  o.endpoint = endpointOf(broker);
  o.credentials = credentialsOf(broker.auth);
  o.version = c.protocol == config::MqttVersion::V5 ? mqtt::Version::V5 : mqtt::Version::V311;
  o.keepAliveSeconds = c.keepAliveSeconds;
  o.sessionExpirySeconds = c.sessionExpirySeconds;
  o.maximumPacketSize = broker.maxPacketSize;
  o.ackTimeout = std::chrono::seconds(broker.ackTimeoutSeconds);
  o.credentialCheckInterval = std::chrono::seconds(broker.credentialCheckSeconds);
  o.name = name;
  return o;
}

}  // namespace mqb::app
