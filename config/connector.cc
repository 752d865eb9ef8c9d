// Reads an MqttBridgeConnector's spec: image, protocol, broker connections (TLS, authentication)
// and the extensions.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "config/enums.h"
#include "config/env_refs.h"
#include "config/fields.h"
#include "config/loader_parts.h"
#include "config/network.h"
#include "config/rate_limit.h"
#include "config/spool.h"
#include "config/topic.h"

namespace mqb::config {

namespace {

constexpr std::int64_t kMaxInstances = 1000;

const std::vector<std::string> kAuthMethods = {"systemAssignedManagedIdentity", "x509",
                                               "kubernetes", "anonymous", "usernamePassword"};

/// A child mapping's reader, sharing the parent's file and diagnostics.
Fields child(const Fields& parent, const YAML::Node& n, std::string_view key) {
  return Fields(n, parent.file(), parent.pathOf(key), parent.diag());
}

void readSecretName(Fields& f, std::string& out) {
  if (auto s = f.str("secretName", true)) {
    if (auto e = detail::objectNameError(*s); !e.empty()) {
      f.error("secretName", e);
    } else {
      out = *s;
    }
  }
}

/// Reads the methods present in `f` (an `authentication` mapping) into `a`; the last one read wins
/// (more than one is an error the caller reports).
void readAuthMethods(Fields& f, AuthSpec& a) {
  if (YAML::Node mi = f.mapping("systemAssignedManagedIdentity"); mi.IsDefined()) {
    Fields g = child(f, mi, "systemAssignedManagedIdentity");
    a.kind = AuthSpec::Kind::SystemAssignedManagedIdentity;
    a.audience = g.str("audience", true).value_or("");
    g.finish();
  }
  if (YAML::Node x = f.mapping("x509"); x.IsDefined()) {
    Fields g = child(f, x, "x509");
    a.kind = AuthSpec::Kind::X509;
    readSecretName(g, a.secretName);
    a.where = g.at("secretName");
    g.finish();
  }
  if (YAML::Node k = f.mapping("kubernetes"); k.IsDefined()) {
    Fields g = child(f, k, "kubernetes");
    a.kind = AuthSpec::Kind::Kubernetes;
    a.where = f.at("kubernetes");
    g.finish();
  }
  if (YAML::Node an = f.mapping("anonymous"); an.IsDefined()) {
    Fields g = child(f, an, "anonymous");
    a.kind = AuthSpec::Kind::Anonymous;
    g.finish();
  }
  if (YAML::Node up = f.mapping("usernamePassword"); up.IsDefined()) {
    Fields g = child(f, up, "usernamePassword");
    a.kind = AuthSpec::Kind::UsernamePassword;
    readSecretName(g, a.secretName);
    a.where = g.at("secretName");
    g.finish();
  }
}

void readAuth(Fields& parent, AuthSpec& a) {
  YAML::Node n = parent.mapping("authentication", true);
  if (!n.IsDefined()) {
    return;
  }
  Fields f = child(parent, n, "authentication");
  a.where = f.location();
  std::vector<std::string> present;
  for (const auto& m : kAuthMethods) {
    if (f.has(m)) {
      present.push_back(m);
    }
  }
  readAuthMethods(f, a);
  f.finish();
  if (f.ok() && present.empty()) {
    f.error("",
            "needs one method: systemAssignedManagedIdentity, x509 or kubernetes (extensions: "
            "anonymous, usernamePassword)");
  } else if (present.size() > 1) {
    f.error("",
            "only one authentication method is allowed, got " + present[0] + " and " + present[1]);
  }
}

void readTls(Fields& parent, TlsSpec& tls) {
  YAML::Node t = parent.mapping("tls", true);
  if (!t.IsDefined()) {
    return;
  }
  Fields g = child(parent, t, "tls");
  tls.where = g.location();
  tls.enabled = g.boolean("tlsEnabled", true).value_or(false);
  if (auto cm = g.str("trustedCaCertificateConfigMap")) {
    if (auto e = detail::objectNameError(*cm); !e.empty()) {
      g.error("trustedCaCertificateConfigMap", e);
    } else {
      tls.trustedCaCertificateConfigMap = *cm;
      tls.where = g.at("trustedCaCertificateConfigMap");
      if (!tls.enabled) {
        g.warning("trustedCaCertificateConfigMap", "ignored because tlsEnabled is false");
      }
    }
  }
  parseAlpn(g, tls);
  g.finish();
}

void readBroker(Fields& spec, const std::string& key, bool required, BrokerConnection& b) {
  YAML::Node n = spec.mapping(key, required);
  if (!n.IsDefined()) {
    return;
  }
  Fields f = child(spec, n, key);
  b.where = f.location();
  b.path = f.path();
  if (auto ep = f.str("endpoint", true)) {
    b.endpoint = *ep;
    if (auto e = parseEndpoint(*ep, b.host, b.port); !e.empty()) {
      f.error("endpoint", e);
    }
  }
  b.transport = readEnum<Transport>(f, "protocol").value_or(b.transport);
  readTls(f, b.tls);
  if (auto m = f.integer("maxPacketSize", false, 64, 268435460)) {
    b.maxPacketSize = static_cast<std::uint32_t>(*m);
  }
  if (auto t = f.integer("ackTimeoutSeconds", false, 0, 86400)) {
    b.ackTimeoutSeconds = static_cast<std::uint32_t>(*t);
  }
  if (auto t = f.integer("credentialCheckSeconds", false, 0, 3600)) {
    b.credentialCheckSeconds = static_cast<std::uint32_t>(*t);
  }
  parseNetwork(f, b);
  readAuth(f, b.auth);
  f.finish();
}

void readImage(Fields& s, ImageSpec& image) {
  if (YAML::Node img = s.mapping("image", true); img.IsDefined()) {
    Fields g = child(s, img, "image");
    image.repository = g.str("repository", true).value_or("");
    image.tag = g.str("tag").value_or("");
    image.pullPolicy = g.enumeration("pullPolicy", pullPolicies()).value_or("");
    g.finish();
  }
}

void readConnections(Fields& s, ConnectorSpec& c) {
  readBroker(s, "remoteBrokerConnection", true, c.remote);
  if (s.has("localBrokerConnection")) {
    readBroker(s, "localBrokerConnection", false, c.local);
  } else {
    s.node("localBrokerConnection");
    c.local = defaultLocalBroker();
    c.local.where = s.location();
    c.localDefaulted = true;
  }
}

/// statusTopic, deadLetterTopic, hopMarker: topics and a property name on the local broker.
void readMarkers(Fields& s, ConnectorSpec& c) {
  // Default: mqbridge/<connector>/status; an explicit "" turns the status message off.
  c.statusTopic = "mqbridge/" + c.name + "/status";
  if (auto t = s.str("statusTopic")) {
    if (t->empty()) {
      c.statusTopic.clear();
    } else if (auto e = topic::nameError(*t); !e.empty()) {
      s.error("statusTopic", e);
    }
    if (!t->empty()) {
      c.statusTopic = *t;
    }
  }
  if (auto t = s.str("deadLetterTopic"); t && !t->empty()) {
    if (auto e = topic::nameError(*t); !e.empty()) {
      s.error("deadLetterTopic", e);
    } else {
      c.deadLetterTopic = *t;
    }
  }
  if (auto h = s.str("hopMarker")) {
    if (h->empty()) {
      s.error("hopMarker", "must not be empty");
    } else if (auto e = topic::encodingError(*h); !e.empty()) {
      s.error("hopMarker", e);
    }
    c.hopMarker = *h;
  }
}

void readStagePlugins(Fields& s, ConnectorSpec& c) {
  YAML::Node sp = s.sequence("stagePlugins");
  if (!sp.IsDefined()) {
    return;
  }
  for (std::size_t j = 0; j < sp.size(); ++j) {
    StagePluginSpec plugin;
    plugin.path = s.pathOf("stagePlugins") + "[" + std::to_string(j) + "]";
    plugin.where = locationOf(sp[j], s.file());
    if (!sp[j].IsScalar() || sp[j].Scalar().empty()) {
      s.diag().error(plugin.where, plugin.path,
                     "expected the path of a stage plugin shared library (a non-empty string)");
      continue;
    }
    plugin.file = sp[j].Scalar();
    c.stagePlugins.push_back(std::move(plugin));
  }
}

}  // namespace

void detail::checkClientIdPrefix(const std::string& prefix, const Location& where,
                                 const std::string& path, Diagnostics& diag) {
  if (auto e = topic::encodingError(prefix); !e.empty()) {
    diag.error(where, path, e);
  }
}

void detail::readConnector(const YAML::Node& spec, const std::string& file, Diagnostics& diag,
                           ConnectorSpec& c) {
  Fields s(spec, file, "spec", diag);
  readImage(s, c.image);
  c.protocol = readEnum<MqttVersion>(s, "protocol", true).value_or(c.protocol);
  if (auto n = s.integer("bridgeInstances", false, 1, kMaxInstances)) {
    c.bridgeInstances = static_cast<int>(*n);
  }
  if (auto p = s.str("clientIdPrefix")) {
    c.clientIdPrefix = *p;
    c.clientIdPrefixWhere = s.at("clientIdPrefix");
    if (!hasEnvReference(*p)) {  // else checked once expanded (config/env_refs.h)
      checkClientIdPrefix(*p, c.clientIdPrefixWhere, s.pathOf("clientIdPrefix"), diag);
    }
  }
  c.logLevel = readEnum<LogLevel>(s, "logLevel").value_or(c.logLevel);
  readConnections(s, c);
  c.rateLimit = readRateLimit(s, "rateLimit");
  c.spool = readSpool(s, "spool");
  readMarkers(s, c);
  if (auto k = s.integer("keepAliveSeconds", false, 1, 65535)) {
    c.keepAliveSeconds = static_cast<int>(*k);
  }
  if (auto k = s.integer("sessionExpirySeconds", false, 0, 4294967295LL)) {
    c.sessionExpirySeconds = static_cast<int>(std::min<std::int64_t>(*k, INT32_MAX));
  }
  readStagePlugins(s, c);
  s.finish();
}

std::string parseEndpoint(const std::string& endpoint, std::string& host, std::uint16_t& port) {
  const std::string expected =
      "expected host:port, e.g. \"broker.example.com:8883\" or \"[::1]:1883\"";
  if (endpoint.find("://") != std::string::npos) {
    return "must not have a scheme; " + expected + ", got \"" + endpoint + "\"";
  }
  std::string h;
  std::string p;
  if (!endpoint.empty() && endpoint.front() == '[') {
    const auto close = endpoint.find(']');
    if (close == std::string::npos || close + 1 >= endpoint.size() || endpoint[close + 1] != ':') {
      return expected + ", got \"" + endpoint + "\"";
    }
    h = endpoint.substr(1, close - 1);
    p = endpoint.substr(close + 2);
    if (h.empty() || h.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos) {
      return "not a valid IPv6 address in brackets: \"" + endpoint + "\"";
    }
  } else {
    const auto colon = endpoint.rfind(':');
    if (colon == std::string::npos) {
      return "missing port; " + expected + ", got \"" + endpoint + "\"";
    }
    h = endpoint.substr(0, colon);
    p = endpoint.substr(colon + 1);
    if (h.find(':') != std::string::npos) {
      return "IPv6 addresses must be in brackets; " + expected + ", got \"" + endpoint + "\"";
    }
    if (h.empty() || h.find_first_of(" /[]@?#\t") != std::string::npos) {
      return "not a valid host; " + expected + ", got \"" + endpoint + "\"";
    }
  }
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) {
    return "port must be a number from 1 to 65535, got \"" + p + "\"";
  }
  const int n = std::stoi(p);
  if (n < 1 || n > 65535) {
    return "port must be a number from 1 to 65535, got " + p;
  }
  host = h;
  port = static_cast<std::uint16_t>(n);
  return {};
}

BrokerConnection defaultLocalBroker() {
  BrokerConnection b;
  b.endpoint = "aio-mq-dmqtt-frontend:8883";
  b.host = "aio-mq-dmqtt-frontend";
  b.port = 8883;
  b.tls.enabled = true;
  b.tls.trustedCaCertificateConfigMap = "aio-ca-trust-bundle-test-only";
  b.auth.kind = AuthSpec::Kind::Kubernetes;
  b.path = "spec.localBrokerConnection";
  return b;
}

}  // namespace mqb::config
