#include "app/runtime/client_options.h"

#include "config/network.h"

namespace mqb::app {

namespace {

mqtt::Proxy proxyFor(const config::ProxySpec& p, const std::string& host) {
  mqtt::Proxy out;
  if (!config::proxyApplies(p, host)) {
    return out;
  }
  out.kind = p.kind == config::ProxySpec::Kind::Socks5 ? mqtt::Proxy::Kind::Socks5
                                                       : mqtt::Proxy::Kind::HttpConnect;
  out.host = p.host;
  out.port = p.port;
  out.username = p.username;
  out.password = p.password;
  out.usernameFile = p.usernameFile;
  out.passwordFile = p.passwordFile;
  return out;
}

}  // namespace

mqtt::Endpoint endpointOf(const config::BrokerConnection& broker) {
  mqtt::Endpoint e;
  e.host = broker.host;
  e.port = broker.port;
  e.tls = broker.tls.enabled;
  e.websocket = broker.transport == config::Transport::WebSocket;
  e.caFiles = broker.tls.caFiles;
  if (e.tls) {
    e.alpn = broker.tls.alpn;
  }
  e.proxy = proxyFor(broker.proxy, broker.host);
  return e;
}

std::vector<mqtt::Endpoint> fallbacksOf(const config::BrokerConnection& broker) {
  std::vector<mqtt::Endpoint> out;
  for (const auto& f : broker.fallbackEndpoints) {
    mqtt::Endpoint e = endpointOf(broker);
    e.host = f.host;
    e.port = f.port;
    e.proxy = proxyFor(broker.proxy, f.host);
    out.push_back(std::move(e));
  }
  return out;
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
  o.fallbackEndpoints = fallbacksOf(broker);
  o.primaryCheckInterval = broker.returnToPrimary
                               ? std::chrono::milliseconds(broker.primaryCheckSeconds * 1000LL)
                               : std::chrono::milliseconds(0);
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
