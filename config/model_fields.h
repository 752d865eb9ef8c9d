#pragma once
// The fields of the model structs a route is built from, listed once per struct, for code that
// must treat every field: a route's fingerprint (config/fingerprint.h), field-wise equality, and
// the tests that mutate every field. Each list is a structured binding of the whole struct, so a
// field added to a struct in model.h does not compile until it is named here with its role.
//
//   visitFields(route, [](FieldRole role, std::string_view name, const auto& member) { ... });

#include <concepts>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>
#include <vector>

#include "config/model.h"
#include "config/spool.h"

namespace mqb::config {

/// What a field is to the routes of its connector.
enum class FieldRole : std::uint8_t {
  Behaviour,      ///< the routes' behaviour depends on it (a change rebuilds them)
  ConnectorOnly,  ///< only the connector's own parts read it (logging, status topic, image,
                  ///< plugins loaded before routes are validated)
  Resolved,       ///< reaches a route only resolved with other fields: the spools, through
                  ///< effectiveSpool(), whose result the fingerprint holds instead
  Provenance,     ///< where and how it was written (position, YAML path, owning resource,
                  ///< "was defaulted"); never behaviour
};

/// `Self` is `T` or `const T`.
template <class Self, class T>
concept ModelOf = std::same_as<std::remove_const_t<Self>, T>;

/// Calls v(role, "name", member) for each field of `s`, in declaration order; `s` may be const.
template <class Self, class V>
requires ModelOf<Self, TlsSpec>
void visitFields(Self& s, V&& v) {
  auto& [enabled, trustedCaCertificateConfigMap, caFiles, alpn, where] = s;
  v(FieldRole::Behaviour, "enabled", enabled);
  v(FieldRole::Behaviour, "trustedCaCertificateConfigMap", trustedCaCertificateConfigMap);
  v(FieldRole::Behaviour, "caFiles", caFiles);
  v(FieldRole::Behaviour, "alpn", alpn);
  v(FieldRole::Provenance, "where", where);
}

template <class Self, class V>
requires ModelOf<Self, ProxySpec>
void visitFields(Self& s, V&& v) {
  auto& [configured, source, kind, host, port, secretName, usernameFile, passwordFile, username,
         password, variable, noProxy, where] = s;
  v(FieldRole::Behaviour, "configured", configured);
  v(FieldRole::Behaviour, "source", source);
  v(FieldRole::Behaviour, "kind", kind);
  v(FieldRole::Behaviour, "host", host);
  v(FieldRole::Behaviour, "port", port);
  v(FieldRole::Behaviour, "secretName", secretName);
  v(FieldRole::Behaviour, "usernameFile", usernameFile);
  v(FieldRole::Behaviour, "passwordFile", passwordFile);
  v(FieldRole::Behaviour, "username", username);
  v(FieldRole::Behaviour, "password", password);
  v(FieldRole::Behaviour, "variable", variable);
  v(FieldRole::Behaviour, "noProxy", noProxy);
  v(FieldRole::Provenance, "where", where);
}

template <class Self, class V>
requires ModelOf<Self, EndpointSpec>
void visitFields(Self& s, V&& v) {
  auto& [endpoint, host, port] = s;
  v(FieldRole::Behaviour, "endpoint", endpoint);
  v(FieldRole::Behaviour, "host", host);
  v(FieldRole::Behaviour, "port", port);
}

template <class Self, class V>
requires ModelOf<Self, AuthSpec>
void visitFields(Self& s, V&& v) {
  auto& [kind, audience, secretName, certFile, keyFile, intermediateFile, usernameFile,
         passwordFile, tokenFile, arcKeyDir, where] = s;
  v(FieldRole::Behaviour, "kind", kind);
  v(FieldRole::Behaviour, "audience", audience);
  v(FieldRole::Behaviour, "secretName", secretName);
  v(FieldRole::Behaviour, "certFile", certFile);
  v(FieldRole::Behaviour, "keyFile", keyFile);
  v(FieldRole::Behaviour, "intermediateFile", intermediateFile);
  v(FieldRole::Behaviour, "usernameFile", usernameFile);
  v(FieldRole::Behaviour, "passwordFile", passwordFile);
  v(FieldRole::Behaviour, "tokenFile", tokenFile);
  v(FieldRole::Behaviour, "arcKeyDir", arcKeyDir);
  v(FieldRole::Provenance, "where", where);
}

template <class Self, class V>
requires ModelOf<Self, BrokerConnection>
void visitFields(Self& s, V&& v) {
  auto& [endpoint, host, port, transport, tls, auth, maxPacketSize, ackTimeoutSeconds,
         credentialCheckSeconds, proxy, fallbackEndpoints, returnToPrimary, primaryCheckSeconds,
         where, path] = s;
  v(FieldRole::Behaviour, "endpoint", endpoint);
  v(FieldRole::Behaviour, "host", host);
  v(FieldRole::Behaviour, "port", port);
  v(FieldRole::Behaviour, "transport", transport);
  v(FieldRole::Behaviour, "tls", tls);
  v(FieldRole::Behaviour, "auth", auth);
  v(FieldRole::Behaviour, "maxPacketSize", maxPacketSize);
  v(FieldRole::Behaviour, "ackTimeoutSeconds", ackTimeoutSeconds);
  v(FieldRole::Behaviour, "credentialCheckSeconds", credentialCheckSeconds);
  v(FieldRole::Behaviour, "proxy", proxy);
  v(FieldRole::Behaviour, "fallbackEndpoints", fallbackEndpoints);
  v(FieldRole::Behaviour, "returnToPrimary", returnToPrimary);
  v(FieldRole::Behaviour, "primaryCheckSeconds", primaryCheckSeconds);
  v(FieldRole::Provenance, "where", where);
  v(FieldRole::Provenance, "path", path);
}

template <class Self, class V>
requires ModelOf<Self, ImageSpec>
void visitFields(Self& s, V&& v) {
  auto& [repository, tag, pullPolicy] = s;
  v(FieldRole::Behaviour, "repository", repository);
  v(FieldRole::Behaviour, "tag", tag);
  v(FieldRole::Behaviour, "pullPolicy", pullPolicy);
}

template <class Self, class V>
requires ModelOf<Self, RateLimitSpec>
void visitFields(Self& s, V&& v) {
  auto& [messagesPerSecond, bytesPerSecond, burstMessages, burstBytes] = s;
  v(FieldRole::Behaviour, "messagesPerSecond", messagesPerSecond);
  v(FieldRole::Behaviour, "bytesPerSecond", bytesPerSecond);
  v(FieldRole::Behaviour, "burstMessages", burstMessages);
  v(FieldRole::Behaviour, "burstBytes", burstBytes);
}

template <class Self, class V>
requires ModelOf<Self, SpoolSpec>
void visitFields(Self& s, V&& v) {
  auto& [maxBytes, maxMessages, overflow, fsync, fsyncIntervalMs, where] = s;
  v(FieldRole::Behaviour, "maxBytes", maxBytes);
  v(FieldRole::Behaviour, "maxMessages", maxMessages);
  v(FieldRole::Behaviour, "overflow", overflow);
  v(FieldRole::Behaviour, "fsync", fsync);
  v(FieldRole::Behaviour, "fsyncIntervalMs", fsyncIntervalMs);
  v(FieldRole::Provenance, "where", where);
}

template <class Self, class V>
requires ModelOf<Self, SpoolSettings>
void visitFields(Self& s, V&& v) {
  auto& [maxBytes, maxMessages, overflow, fsync, fsyncIntervalMs] = s;
  v(FieldRole::Behaviour, "maxBytes", maxBytes);
  v(FieldRole::Behaviour, "maxMessages", maxMessages);
  v(FieldRole::Behaviour, "overflow", overflow);
  v(FieldRole::Behaviour, "fsync", fsync);
  v(FieldRole::Behaviour, "fsyncIntervalMs", fsyncIntervalMs);
}

template <class Self, class V>
requires ModelOf<Self, StagePluginSpec>
void visitFields(Self& s, V&& v) {
  auto& [file, path, where] = s;
  v(FieldRole::Behaviour, "file", file);
  v(FieldRole::Provenance, "path", path);
  v(FieldRole::Provenance, "where", where);
}

template <class Self, class V>
requires ModelOf<Self, ConnectorSpec>
void visitFields(Self& s, V&& v) {
  auto& [name, ns, image, protocol, bridgeInstances, clientIdPrefix, clientIdPrefixWhere, logLevel,
         remote, local, localDefaulted, rateLimit, statusTopic, deadLetterTopic, hopMarker,
         keepAliveSeconds, sessionExpirySeconds, spool, stagePlugins, where] = s;
  v(FieldRole::Behaviour, "name", name);
  v(FieldRole::ConnectorOnly, "ns", ns);
  v(FieldRole::ConnectorOnly, "image", image);
  v(FieldRole::Behaviour, "protocol", protocol);
  v(FieldRole::Behaviour, "bridgeInstances", bridgeInstances);
  v(FieldRole::Behaviour, "clientIdPrefix", clientIdPrefix);
  v(FieldRole::Provenance, "clientIdPrefixWhere", clientIdPrefixWhere);
  v(FieldRole::ConnectorOnly, "logLevel", logLevel);
  v(FieldRole::Behaviour, "remote", remote);
  v(FieldRole::Behaviour, "local", local);
  v(FieldRole::Provenance, "localDefaulted", localDefaulted);
  v(FieldRole::Behaviour, "rateLimit", rateLimit);
  v(FieldRole::ConnectorOnly, "statusTopic", statusTopic);
  v(FieldRole::Behaviour, "deadLetterTopic", deadLetterTopic);
  v(FieldRole::Behaviour, "hopMarker", hopMarker);
  v(FieldRole::Behaviour, "keepAliveSeconds", keepAliveSeconds);
  v(FieldRole::Behaviour, "sessionExpirySeconds", sessionExpirySeconds);
  v(FieldRole::Resolved, "spool", spool);
  v(FieldRole::ConnectorOnly, "stagePlugins", stagePlugins);
  v(FieldRole::Provenance, "where", where);
}

template <class Self, class V>
requires ModelOf<Self, SharedSubscriptionSpec>
void visitFields(Self& s, V&& v) {
  auto& [groupMinimumShareNumber, groupName] = s;
  v(FieldRole::Behaviour, "groupMinimumShareNumber", groupMinimumShareNumber);
  v(FieldRole::Behaviour, "groupName", groupName);
}

template <class Self, class V>
requires ModelOf<Self, StageSpec>
void visitFields(Self& s, V&& v) {
  auto& [type, params, path, where] = s;
  v(FieldRole::Behaviour, "type", type);
  v(FieldRole::Behaviour, "params", params);
  v(FieldRole::Provenance, "path", path);
  v(FieldRole::Provenance, "where", where);
}

template <class Self, class V>
requires ModelOf<Self, RouteSpec>
void visitFields(Self& s, V&& v) {
  auto& [name, nameDefaulted, direction, qos, source, target, sourceWhere, targetWhere,
         sharedSubscription, rateLimit, retain, ttlSeconds, spool, stages, topicMap, connector,
         path, where] = s;
  v(FieldRole::Behaviour, "name", name);
  v(FieldRole::Provenance, "nameDefaulted", nameDefaulted);
  v(FieldRole::Behaviour, "direction", direction);
  v(FieldRole::Behaviour, "qos", qos);
  v(FieldRole::Behaviour, "source", source);
  v(FieldRole::Behaviour, "target", target);
  v(FieldRole::Provenance, "sourceWhere", sourceWhere);
  v(FieldRole::Provenance, "targetWhere", targetWhere);
  v(FieldRole::Behaviour, "sharedSubscription", sharedSubscription);
  v(FieldRole::Behaviour, "rateLimit", rateLimit);
  v(FieldRole::Behaviour, "retain", retain);
  v(FieldRole::Behaviour, "ttlSeconds", ttlSeconds);
  v(FieldRole::Resolved, "spool", spool);
  v(FieldRole::Behaviour, "stages", stages);
  v(FieldRole::Provenance, "topicMap", topicMap);
  v(FieldRole::Behaviour, "connector", connector);
  v(FieldRole::Provenance, "path", path);
  v(FieldRole::Provenance, "where", where);
}

/// True for the structs that have a field list above.
template <class T>
concept HasFields = requires(const T& t) {
  visitFields(t, [](FieldRole, std::string_view, const auto&) {});
};

}  // namespace mqb::config
