#pragma once
// The configuration model: MqttBridgeConnector and MqttBridgeTopicMap custom resources
// (mq.iotoperations.azure.com/v1beta1), after defaults and Kubernetes references are resolved.
// Fields marked "extension" go beyond the Azure IoT MQ spec; docs/configuration.md lists them.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/diagnostics.h"

namespace mqb::config {

inline constexpr const char* kApiVersion = "mq.iotoperations.azure.com/v1beta1";
inline constexpr const char* kConnectorKind = "MqttBridgeConnector";
inline constexpr const char* kTopicMapKind = "MqttBridgeTopicMap";

enum class MqttVersion { V5, V3 };                      // YAML: v5 | v3 (v3 means MQTT 3.1.1)
enum class Transport { Mqtt, WebSocket };               // YAML: mqtt | webSocket
enum class Direction { RemoteToLocal, LocalToRemote };  // YAML: remote-to-local | local-to-remote
enum class LogLevel { Debug, Info, Warn, Error };       // YAML: debug | info (| warn | error: ext.)
enum class RetainPolicy { Keep, Never };                // extension, route `retain`: keep | never

struct TlsSpec {
  bool enabled = false;
  std::string trustedCaCertificateConfigMap;  ///< ConfigMap name ("" = system trust store)
  std::vector<std::string> caFiles;           ///< resolved: PEM files under <configmaps-dir>/NAME/
  std::vector<std::string> alpn;  ///< extension: ALPN protocols offered, in order ("" = none)
  Location where;                 ///< of the ConfigMap name if set, else of the `tls` mapping
};

struct AuthSpec {
  enum class Kind { Anonymous, SystemAssignedManagedIdentity, X509, Kubernetes, UsernamePassword };
  Kind kind = Kind::Anonymous;
  std::string audience;    ///< systemAssignedManagedIdentity.audience
  std::string secretName;  ///< x509.secretName / usernamePassword.secretName (extension)
  // Resolved files (the way a pod sees them mounted):
  std::string certFile;          ///< <secrets-dir>/NAME/client_cert.pem
  std::string keyFile;           ///< <secrets-dir>/NAME/client_key.pem
  std::string intermediateFile;  ///< <secrets-dir>/NAME/client_intermediate_certs.pem (optional)
  std::string usernameFile;      ///< <secrets-dir>/NAME/username
  std::string passwordFile;      ///< <secrets-dir>/NAME/password
  std::string tokenFile;         ///< kubernetes: service account token, re-read on reconnect
  std::string arcKeyDir;  ///< systemAssignedManagedIdentity: Azure Arc challenge key directory
  Location where;         ///< of secretName / the method if it has one, else of `authentication`
};

/// Extension: the proxy of a broker connection. Without a `proxy` mapping the remote broker
/// connection follows the conventional environment (HTTPS_PROXY, then https_proxy; NO_PROXY /
/// no_proxy exempt hosts); the local one connects directly.
struct ProxySpec {
  enum class Source { None, Config, Environment };  ///< None: direct
  enum class Kind { Http, Socks5 };
  bool configured = false;  ///< a `proxy` mapping was given (else the environment applies)
  Source source = Source::None;
  Kind kind = Kind::Http;
  std::string host;  ///< without brackets
  std::uint16_t port = 0;
  std::string secretName;            ///< Config: Secret with `username` and `password` ("" = none)
  std::string usernameFile;          ///< resolved: <secrets-dir>/NAME/username
  std::string passwordFile;          ///< resolved: <secrets-dir>/NAME/password
  std::string username;              ///< Environment: from the URL's user info; never printed
  std::string password;              ///< Environment: from the URL's user info; never printed
  std::string variable;              ///< Environment: the variable it came from (HTTPS_PROXY, ...)
  std::vector<std::string> noProxy;  ///< Environment: NO_PROXY entries
  Location where;
};

/// Extension: one more endpoint of the same broker service ("host:port" as written).
struct EndpointSpec {
  std::string endpoint;
  std::string host;
  std::uint16_t port = 0;
};

struct BrokerConnection {
  std::string endpoint;  ///< "host:port" as written
  std::string host;      ///< without brackets for IPv6 literals
  std::uint16_t port = 0;
  Transport transport = Transport::Mqtt;  ///< remote only in the spec; extension on local
  TlsSpec tls;
  AuthSpec auth;
  std::uint32_t maxPacketSize = 16u << 20;  ///< extension: largest packet accepted from it
  /// extension: publishes outstanding and no acknowledgement for this long ends the connection
  /// (0: never)
  std::uint32_t ackTimeoutSeconds = 60;
  /// extension: how often credential files are checked for a change while connected (0: never)
  std::uint32_t credentialCheckSeconds = 10;
  // Extensions (network paths):
  ProxySpec proxy;
  std::vector<EndpointSpec> fallbackEndpoints;  ///< failover.endpoints, tried after `endpoint`
  bool returnToPrimary = true;                  ///< failover.returnToPrimary
  int primaryCheckSeconds = 30;                 ///< failover.primaryCheckSeconds
  Location where;
  std::string path;  ///< YAML path, "spec.remoteBrokerConnection" / "spec.localBrokerConnection"
};

struct ImageSpec {
  std::string repository;
  std::string tag;
  std::string pullPolicy;
};

/// Extension: token bucket per sink client. 0 = unlimited.
struct RateLimitSpec {
  double messagesPerSecond = 0;
  double bytesPerSecond = 0;
  double burstMessages = 0;  ///< 0 = one second's worth of messagesPerSecond
  double burstBytes = 0;     ///< 0 = one second's worth of bytesPerSecond
  bool enabled() const noexcept { return messagesPerSecond > 0 || bytesPerSecond > 0; }
};

/// Extension: the durable spool of a QoS 1 route (one per route branch, under --state-dir).
/// Each field left out takes the connector's value, then the default: config::effectiveSpool()
/// and config::SpoolSettings (config/spool.h) resolve them.
struct SpoolSpec {
  enum class Overflow { Block, DropOldest, DropNewest };  // YAML: block | drop_oldest | drop_newest
  enum class Fsync { Always, Interval, Never };           // YAML: always | interval | never
  std::optional<std::uint64_t> maxBytes;                  ///< 0 = no limit
  std::optional<std::uint64_t> maxMessages;               ///< 0 = no limit
  std::optional<Overflow> overflow;                       ///< block = backpressure to the source
  std::optional<Fsync> fsync;
  std::optional<std::int64_t> fsyncIntervalMs;  ///< with Fsync::Interval
  Location where;
};

/// Extension: an out-of-tree stage plugin (shared library) to load before routes are validated.
struct StagePluginSpec {
  std::string file;  ///< as written (a relative path is relative to the working directory)
  std::string path;  ///< YAML path, e.g. "spec.stagePlugins[0]"
  Location where;
};

struct ConnectorSpec {
  std::string name;
  std::string ns;  ///< metadata.namespace
  ImageSpec image;
  MqttVersion protocol = MqttVersion::V5;
  int bridgeInstances = 1;
  std::string clientIdPrefix;  ///< ${env:NAME} references expanded (extension, env_refs.h)
  Location clientIdPrefixWhere;
  LogLevel logLevel = LogLevel::Info;
  BrokerConnection remote;
  BrokerConnection local;  ///< defaults to the spec's aio-mq-dmqtt-frontend:8883, TLS, SAT
  bool localDefaulted = false;
  // Extensions:
  std::optional<RateLimitSpec> rateLimit;  ///< default for routes of this connector
  std::string statusTopic;                 ///< retained online/offline on the local broker
  std::string deadLetterTopic;             ///< dead letters republished under it ("" = off)
  std::string hopMarker = "mqbridge-hop";  ///< v5 user property that marks bridged messages
  int keepAliveSeconds = 60;
  int sessionExpirySeconds = 3600;
  std::optional<SpoolSpec> spool;             ///< default for routes of this connector
  std::vector<StagePluginSpec> stagePlugins;  ///< loaded in order, into the built-in registry
  Location where;
};

struct SharedSubscriptionSpec {
  int groupMinimumShareNumber = 1;
  std::string groupName;
};

/// A custom/transform stage on a route (extension): `type` plus its own parameters, which the
/// stage's factory validates.
struct StageSpec {
  std::string type;
  YAML::Node params;  ///< the whole stage mapping (including `type`)
  std::string path;   ///< YAML path, e.g. "spec.routes[0].stages[1]"
  Location where;
};

struct RouteSpec {
  std::string name;
  bool nameDefaulted = false;  ///< spec snippets omit `name`: then route<N> (1-based index)
  Direction direction = Direction::LocalToRemote;
  int qos = 1;
  // source and target: ${env:NAME} references expanded (extension, config/env_refs.h).
  std::string source;                 ///< topic filter on the source side
  std::optional<std::string> target;  ///< topic (or template, extension) on the target side
  Location sourceWhere;
  Location targetWhere;
  std::optional<SharedSubscriptionSpec> sharedSubscription;
  // Extensions:
  std::optional<RateLimitSpec> rateLimit;  ///< overrides the connector's
  RetainPolicy retain = RetainPolicy::Keep;
  std::optional<double> ttlSeconds;
  std::optional<SpoolSpec> spool;  ///< overrides the connector's, field by field
  std::vector<StageSpec> stages;

  std::string topicMap;   ///< owning MqttBridgeTopicMap
  std::string connector;  ///< mqttBridgeConnectorRef
  std::string path;       ///< YAML path, e.g. "spec.routes[1]"
  Location where;

  /// Number of subscriber/publisher client pairs: groupMinimumShareNumber, or 1.
  int clientCount() const noexcept {
    return sharedSubscription ? sharedSubscription->groupMinimumShareNumber : 1;
  }
};

struct TopicMapSpec {
  std::string name;
  std::string ns;
  std::string connectorRef;
  Location refWhere;  ///< location of spec.mqttBridgeConnectorRef
  std::vector<RouteSpec> routes;
  Location where;
};

/// Everything loaded from one or more files/directories.
struct BridgeConfig {
  std::vector<ConnectorSpec> connectors;
  std::vector<TopicMapSpec> topicMaps;

  const ConnectorSpec* connector(const std::string& name) const;
};

}  // namespace mqb::config
