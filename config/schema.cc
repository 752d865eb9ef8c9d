// The CRD schemas of both resources, written as one declarative table per resource (about 650
// lines, over the usual size of a file on purpose: the table reads top to bottom like the CRD it
// produces, and splitting it would separate a field from its siblings).
#include "config/schema.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "config/enums.h"
#include "config/model.h"
#include "config/spool.h"

namespace mqb::config::schema {

Field Field::req() const {
  Field f = *this;
  f.required = true;
  return f;
}
Field Field::ext() const {
  Field f = *this;
  f.extension = true;
  return f;
}
Field Field::oneOf(std::vector<std::string> values) const {
  Field f = *this;
  f.enumValues = std::move(values);
  return f;
}
Field Field::min(double v, bool exclusive) const {
  Field f = *this;
  f.minimum = v;
  f.exclusiveMinimum = exclusive;
  return f;
}
Field Field::max(double v) const {
  Field f = *this;
  f.maximum = v;
  return f;
}
Field Field::def(std::string yaml) const {
  Field f = *this;
  f.defaultValue = std::move(yaml);
  return f;
}
Field Field::eg(std::string yaml) const {
  Field f = *this;
  f.example = std::move(yaml);
  return f;
}
Field Field::matching(std::string regex) const {
  Field f = *this;
  f.pattern = std::move(regex);
  return f;
}
Field Field::atLeast(int n) const {
  Field f = *this;
  f.minItems = n;
  return f;
}
Field Field::preserveUnknown() const {
  Field f = *this;
  f.preserveUnknownFields = true;
  return f;
}

namespace {
Field make(std::string name, Type t, std::string description) {
  Field f;
  f.name = std::move(name);
  f.type = t;
  f.description = std::move(description);
  return f;
}
}  // namespace

Field string(std::string name, std::string description) {
  return make(std::move(name), Type::String, std::move(description));
}
Field integer(std::string name, std::string description) {
  return make(std::move(name), Type::Integer, std::move(description));
}
Field number(std::string name, std::string description) {
  return make(std::move(name), Type::Number, std::move(description));
}
Field boolean(std::string name, std::string description) {
  return make(std::move(name), Type::Boolean, std::move(description));
}
Field object(std::string name, std::string description, std::vector<Field> fields) {
  Field f = make(std::move(name), Type::Object, std::move(description));
  f.fields = std::move(fields);
  return f;
}
Field array(std::string name, std::string description, Field item) {
  Field f = make(std::move(name), Type::Array, std::move(description));
  f.items.push_back(std::move(item));
  return f;
}

const char* typeName(Type t) {
  switch (t) {
    case Type::String:
      return "string";
    case Type::Integer:
      return "integer";
    case Type::Number:
      return "number";
    case Type::Boolean:
      return "boolean";
    case Type::Object:
      return "object";
    case Type::Array:
      return "array";
  }
  return "string";
}

namespace {

/// The YAML text of a string default (an empty one quoted, so that it reads as a string).
std::string yamlString(const std::string& s) {
  YAML::Emitter e;
  e << s;
  return e.c_str();
}

// Kubernetes object names used as mount directories.
constexpr const char* kObjectName = "^[^/]+$";

Field spool(const std::string& scope) {
  const SpoolSettings defaults;
  return object("spool",
                "Durable spool of QoS 1 routes" + scope +
                    ": messages wait on disk under --state-dir while the target is unreachable.",
                {
                    integer("maxBytes", "Most bytes held per route branch; 0 = no limit.")
                        .min(0)
                        .def(std::to_string(defaults.maxBytes)),
                    integer("maxMessages", "Most messages held per route branch; 0 = no limit.")
                        .min(0)
                        .def(std::to_string(defaults.maxMessages)),
                    string("overflow",
                           "When full: block (stop consuming from the source broker until the "
                           "spool drains), drop_oldest or drop_newest (counted).")
                        .oneOf(enumValues<SpoolSpec::Overflow>())
                        .def(enumName(defaults.overflow)),
                    string("fsync", "When spooled messages are fdatasync'ed.")
                        .oneOf(enumValues<SpoolSpec::Fsync>())
                        .def(enumName(defaults.fsync)),
                    integer("fsyncIntervalMs", "fdatasync period under fsync: interval.")
                        .min(1)
                        .max(3600000)
                        .def(std::to_string(defaults.fsyncIntervalMs)),
                })
      .ext()
      .eg("{maxBytes: 1073741824, overflow: block}");
}

Field rateLimit(const std::string& scope) {
  return object("rateLimit",
                "Token-bucket rate limit per publishing client" + scope +
                    ". At least one of messagesPerSecond and bytesPerSecond.",
                {
                    number("messagesPerSecond", "Sustained messages per second.").min(0, true),
                    number("bytesPerSecond", "Sustained payload bytes per second.").min(0, true),
                    number("burstMessages",
                           "Bucket size in messages (default: one second of messagesPerSecond).")
                        .min(0, true),
                    number("burstBytes",
                           "Bucket size in bytes (default: one second of bytesPerSecond).")
                        .min(0, true),
                })
      .ext()
      .eg("{messagesPerSecond: 100, bytesPerSecond: 100000}");
}

Field proxy(bool remote) {
  return object("proxy",
                std::string("Proxy in front of the broker: an HTTP CONNECT or SOCKS5 tunnel for "
                            "mqtt, TLS and WebSocket alike. ") +
                    (remote ? "Without it, HTTPS_PROXY (or https_proxy) and NO_PROXY (or "
                              "no_proxy) of the bridge's environment apply."
                            : "Without it, the local broker is connected to directly."),
                {
                    string("url",
                           "http://host:port or socks5://host:port (no credentials: see "
                           "secretName).")
                        .matching("^((http|socks5h?)://)?[^/@]+(/)?$")
                        .eg("http://proxy.example.com:3128"),
                    string("secretName",
                           "Secret with the proxy credentials (files username, password): Basic "
                           "authentication for HTTP, RFC 1929 for SOCKS5.")
                        .matching(kObjectName),
                    boolean("direct", "Connect directly, ignoring the proxy environment.")
                        .def("false")
                        .eg("false"),
                })
      .ext()
      .eg("{url: \"http://proxy.example.com:3128\", secretName: proxy-credentials}");
}

Field failover() {
  return object("failover",
                "More endpoints of the same broker service, tried in order after endpoint when it "
                "cannot be reached.",
                {
                    array("endpoints", "Fallback endpoints, host:port each, in order.",
                          string("endpoint", "host:port")
                              .matching("^(\\[[0-9A-Fa-f:.]+\\]|[^:/\\[\\]@?# ]+):[0-9]{1,5}$")
                              .eg("broker-b.example.com:8883"))
                        .req()
                        .atLeast(1)
                        .eg("[\"broker-b.example.com:8883\"]"),
                    boolean("returnToPrimary",
                            "While on a fallback, check whether endpoint is reachable again and go "
                            "back to it (draining the messages in flight first).")
                        .def("true"),
                    integer("primaryCheckSeconds", "How often the primary endpoint is checked.")
                        .min(1)
                        .max(86400)
                        .def("30"),
                })
      .ext()
      .eg("{endpoints: [\"broker-b.example.com:8883\"]}");
}

Field broker(const std::string& name, bool remote) {
  Field protocol = string("protocol", "MQTT over TCP (`mqtt`) or over WebSockets (`webSocket`).")
                       .oneOf(enumValues<Transport>())
                       .def(enumName(BrokerConnection{}.transport));
  if (!remote) {
    protocol = protocol.ext();
  }
  return object(
      name,
      remote ? "Connection details of the remote broker to bridge to."
             : "Connection details of the local broker. Default: aio-mq-dmqtt-frontend:8883, "
               "TLS trusting ConfigMap aio-ca-trust-bundle-test-only, kubernetes authentication.",
      {
          string("endpoint",
                 "Broker endpoint host:port, e.g. broker.example.com:8883 or [::1]:1883.")
              .req()
              .matching("^(\\[[0-9A-Fa-f:.]+\\]|[^:/\\[\\]@?# ]+):[0-9]{1,5}$")
              .eg("127.0.0.1:1883"),
          object("tls", "TLS settings.",
                 {
                     boolean("tlsEnabled", "Whether TLS is enabled.").req().eg("false"),
                     string("trustedCaCertificateConfigMap",
                            "ConfigMap with the CA certificates (PEM, *.pem or *.crt) to trust; "
                            "default: the system trust store.")
                         .matching(kObjectName),
                     array("alpn",
                           "ALPN protocols offered in the TLS handshake, in order of preference "
                           "(e.g. mqtt, for brokers that serve MQTT on port 443).",
                           string("protocol", "Protocol name (1 to 255 bytes)."))
                         .ext()
                         .atLeast(1)
                         .eg("[mqtt]"),
                 })
              .req(),
          integer("maxPacketSize",
                  "Largest MQTT packet accepted from this broker, in bytes, announced in an "
                  "MQTT v5 CONNECT; a larger message is discarded unread and counted.")
              .ext()
              .min(64)
              .max(268435460)
              .def(std::to_string(BrokerConnection{}.maxPacketSize)),
          integer("ackTimeoutSeconds",
                  "QoS 1 publishes outstanding and no acknowledgement for this long: the "
                  "connection is left and they are sent again (DUP) on the next; 0 = never.")
              .ext()
              .min(0)
              .max(86400)
              .def(std::to_string(BrokerConnection{}.ackTimeoutSeconds)),
          integer("credentialCheckSeconds",
                  "How often the credential files are checked for a change while connected "
                  "(re-authentication or graceful reconnect); 0 = only at the next connection.")
              .ext()
              .min(0)
              .max(3600)
              .def(std::to_string(BrokerConnection{}.credentialCheckSeconds)),
          object("authentication", "Exactly one authentication method.",
                 {
                     object("systemAssignedManagedIdentity",
                            "Authenticate with the system-assigned managed identity.",
                            {string("audience", "Token audience, e.g. https://eventgrid.azure.net.")
                                 .req()}),
                     object("x509",
                            "Client certificate from a Secret (client_cert.pem, client_key.pem, "
                            "client_intermediate_certs.pem).",
                            {string("secretName", "Secret name.").req().matching(kObjectName)}),
                     object("kubernetes", "Kubernetes service account token (SAT).", {}),
                     object("anonymous", "No authentication.", {}).ext(),
                     object("usernamePassword",
                            "MQTT username and password from a Secret (files username, password).",
                            {string("secretName", "Secret name.").req().matching(kObjectName)})
                         .ext(),
                 })
              .req()
              .eg("{anonymous: {}}"),
          protocol,
          proxy(remote),
          failover(),
      });
}

Field conditions() {
  return array(
      "conditions", "Standard conditions, each with a reason and a message.",
      object(
          "conditions", "One condition.",
          {
              string("type", "Ready, Progressing, Degraded (connector) or Accepted (topic map).")
                  .req(),
              string("status", "True, False or Unknown.").oneOf({"True", "False", "Unknown"}).req(),
              string("reason", "Why, as one CamelCase word."),
              string("message", "Why, for people."),
              integer("observedGeneration", "metadata.generation this condition is about.").min(0),
              string("lastTransitionTime", "When the status last changed (RFC 3339)."),
          }));
}

Field connectorStatus() {
  return object(
      "status", "Observed state, written by `mqbridge operator`.",
      {
          integer("observedGeneration", "metadata.generation the status describes.").min(0),
          integer("instances", "Instances wanted (spec.bridgeInstances).").min(0),
          integer("readyInstances", "Instances whose readiness probe passes.").min(0),
          string("ready", "readyInstances/instances, e.g. 2/3."),
          integer("routes", "Routes served: those of the accepted topic maps.").min(0),
          conditions(),
      });
}

Field topicMapStatus() {
  return object(
      "status", "Observed state, written by `mqbridge operator`.",
      {
          integer("observedGeneration", "metadata.generation the status describes.").min(0),
          boolean("accepted", "The validator accepts the topic map (with its connector)."),
          integer("routes", "Routes accepted.").min(0),
          array("messages",
                "Why it is not accepted: \"field path: problem\" as `mqbridge validate` words it.",
                string("messages", "One problem.")),
          conditions(),
      });
}

Resource makeConnector() {
  const ConnectorSpec defaults;
  Resource r;
  r.kind = kConnectorKind;
  r.plural = "mqttbridgeconnectors";
  r.singular = "mqttbridgeconnector";
  r.description = "MQTT bridge connector: the remote and local broker connections.";
  r.status = connectorStatus();
  r.columns = {
      {"Instances", "integer", ".spec.bridgeInstances", "Instances wanted."},
      {"Ready", "string", ".status.ready", "Ready instances of those wanted."},
      {"Routes", "integer", ".status.routes", "Routes served."},
      {"Degraded", "string", ".status.conditions[?(@.type==\"Degraded\")].reason",
       "Why the connector is degraded (e.g. RemoteUnreachable, InvalidTopicMap), AsExpected when "
       "it is not."},
      {"Age", "date", ".metadata.creationTimestamp", ""},
  };
  r.spec = object(
      "spec", "MqttBridgeConnector spec.",
      {
          object("image", "Container image of the bridge.",
                 {
                     string("repository", "Image repository.").req(),
                     string("tag", "Image tag."),
                     string("pullPolicy", "Image pull policy.").oneOf(pullPolicies()),
                 })
              .req(),
          string("protocol", "MQTT protocol version: v5, or v3 (MQTT 3.1.1).")
              .req()
              .oneOf(enumValues<MqttVersion>()),
          integer("bridgeInstances", "Number of bridge instances.")
              .min(1)
              .max(1000)
              .def(std::to_string(defaults.bridgeInstances)),
          string("clientIdPrefix", "Prefix of the generated client IDs.")
              .def(yamlString(defaults.clientIdPrefix)),
          string("logLevel", "Log level (warn and error are mqbridge extensions).")
              .oneOf(enumValues<LogLevel>())
              .def(enumName(defaults.logLevel)),
          broker("remoteBrokerConnection", true).req(),
          broker("localBrokerConnection", false),
          rateLimit(" of every route of this connector (a route's own rateLimit overrides it)"),
          spool(" of this connector (a route's own spool overrides it field by field)"),
          string("statusTopic",
                 "Local topic for a retained online/offline status message (no wildcards).")
              .ext(),
          string("deadLetterTopic",
                 "Local topic under which every dead-lettered message is also published, as "
                 "<deadLetterTopic>/<route> (no wildcards); empty: off.")
              .ext()
              .def(yamlString(defaults.deadLetterTopic)),
          string("hopMarker",
                 "MQTT v5 user property that marks bridged messages to break routing loops.")
              .ext()
              .def(yamlString(defaults.hopMarker)),
          integer("keepAliveSeconds", "MQTT keep-alive interval.")
              .ext()
              .min(1)
              .max(65535)
              .def(std::to_string(defaults.keepAliveSeconds)),
          integer("sessionExpirySeconds", "MQTT v5 session expiry interval.")
              .ext()
              .min(0)
              .max(4294967295.0)
              .def(std::to_string(defaults.sessionExpirySeconds)),
          array("stagePlugins",
                "Out-of-tree stage plugins (shared libraries, by path) loaded before the "
                "routes' stages are validated.",
                string("stagePlugins", "Path of a stage plugin shared library.")
                    .eg("/usr/lib/mqbridge/stages/libcelsius_to_fahrenheit.so"))
              .ext(),
      });
  return r;
}

Resource makeTopicMap() {
  const RouteSpec defaults;
  Resource r;
  r.kind = kTopicMapKind;
  r.plural = "mqttbridgetopicmaps";
  r.singular = "mqttbridgetopicmap";
  r.description = "MQTT bridge topic map: the routes of an MqttBridgeConnector.";
  r.status = topicMapStatus();
  r.columns = {
      {"Connector", "string", ".spec.mqttBridgeConnectorRef", "The MqttBridgeConnector."},
      {"Accepted", "boolean", ".status.accepted", "The validator accepts it."},
      {"Routes", "integer", ".status.routes", "Routes accepted."},
      {"Age", "date", ".metadata.creationTimestamp", ""},
  };
  Field route = object(
      "routes", "One route.",
      {
          string("direction", "Direction of message flow.").req().oneOf(enumValues<Direction>()),
          string("name",
                 "Route name, unique per connector; part of the client IDs. Default: "
                 "route<N>, its 1-based position in the topic map (with a warning).")
              .matching("^[A-Za-z0-9_-]+$"),
          integer("qos", "MQTT QoS, 0 or 1.").min(0).max(1).def(std::to_string(defaults.qos)),
          string("source", "Source topic filter; may contain + and # wildcards.").req(),
          string("target",
                 "Target topic (no wildcards). Default: the source topic. mqbridge extension: "
                 "{N} template segments (see the topic_rewrite stage)."),
          object(
              "sharedSubscription", "Shared subscription: that many clients in total.",
              {
                  integer("groupMinimumShareNumber", "Number of clients.").req().min(1).max(1000),
                  string("groupName", "Shared subscription group name (no / + #).")
                      .req()
                      .matching("^[^/+#]+$")
                      .eg("group1"),
              }),
          rateLimit(" of this route"),
          spool(" of this route"),
          string("retain", "Retain flag of forwarded messages: keep it, or never set it.")
              .ext()
              .oneOf(enumValues<RetainPolicy>())
              .def(enumName(defaults.retain)),
          number("ttlSeconds", "Drop messages older than this before forwarding.")
              .ext()
              .min(0, true),
          array(
              "stages", "Custom stages in order; each has a `type` and its own parameters.",
              object("stages", "One stage.",
                     {string("type", "Stage type (registry key), e.g. filter.").req().eg("filter")})
                  .preserveUnknown())
              .ext(),
      });
  r.spec = object("spec", "MqttBridgeTopicMap spec.",
                  {
                      string("mqttBridgeConnectorRef", "Name of the MqttBridgeConnector.")
                          .req()
                          .eg("my-mqtt-bridge"),
                      array("routes", "Routes for bridging.", route).req().atLeast(1),
                  });
  return r;
}

void emitScalar(YAML::Emitter& e, const std::string& yaml) {
  const YAML::Node n = YAML::Load(yaml);
  e << n;
}

void emitField(YAML::Emitter& e, const Field& f) {
  e << YAML::BeginMap;
  e << YAML::Key << "type" << YAML::Value << typeName(f.type);
  std::string desc = f.description;
  if (f.extension) {
    desc = "mqbridge extension. " + desc;
  }
  if (!desc.empty()) {
    e << YAML::Key << "description" << YAML::Value << desc;
  }
  if (!f.enumValues.empty()) {
    // Words YAML 1.1 reads as booleans or null (True, False, ...) are quoted: strings stay strings.
    static const std::set<std::string> ambiguous = {"true", "false", "yes", "no", "on",
                                                    "off",  "null",  "y",   "n",  "~"};
    e << YAML::Key << "enum" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto& v : f.enumValues) {
      std::string lower = v;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      if (ambiguous.count(lower) != 0) {
        e << YAML::DoubleQuoted;
      }
      e << v;
    }
    e << YAML::EndSeq;
  }
  auto num = [&](double v) {
    if (std::floor(v) == v) {
      e << static_cast<long long>(v);
    } else {
      e << v;
    }
  };
  if (f.minimum) {
    e << YAML::Key << "minimum" << YAML::Value;
    num(*f.minimum);
    if (f.exclusiveMinimum) {
      e << YAML::Key << "exclusiveMinimum" << YAML::Value << true;
    }
  }
  if (f.maximum) {
    e << YAML::Key << "maximum" << YAML::Value;
    num(*f.maximum);
  }
  if (!f.pattern.empty()) {
    e << YAML::Key << "pattern" << YAML::Value << YAML::DoubleQuoted << f.pattern;
  }
  if (!f.defaultValue.empty()) {
    e << YAML::Key << "default" << YAML::Value;
    emitScalar(e, f.defaultValue);
  }
  if (f.minItems) {
    e << YAML::Key << "minItems" << YAML::Value << *f.minItems;
  }
  if (f.preserveUnknownFields) {
    e << YAML::Key << "x-kubernetes-preserve-unknown-fields" << YAML::Value << true;
  }
  if (f.type == Type::Object && !f.fields.empty()) {
    e << YAML::Key << "properties" << YAML::Value << YAML::BeginMap;
    for (const auto& c : f.fields) {
      e << YAML::Key << c.name << YAML::Value;
      emitField(e, c);
    }
    e << YAML::EndMap;
    std::vector<std::string> required;
    for (const auto& c : f.fields) {
      if (c.required) {
        required.push_back(c.name);
      }
    }
    if (!required.empty()) {
      e << YAML::Key << "required" << YAML::Value << YAML::Flow << required;
    }
  }
  if (f.type == Type::Array && !f.items.empty()) {
    e << YAML::Key << "items" << YAML::Value;
    emitField(e, f.items.front());
  }
  e << YAML::EndMap;
}

}  // namespace

const Resource& connector() {
  static const Resource r = makeConnector();
  return r;
}

const Resource& topicMap() {
  static const Resource r = makeTopicMap();
  return r;
}

std::string crdYaml(const Resource& r) {
  const std::string group = "mq.iotoperations.azure.com";
  YAML::Emitter e;
  e << YAML::BeginMap;
  e << YAML::Key << "apiVersion" << YAML::Value << "apiextensions.k8s.io/v1";
  e << YAML::Key << "kind" << YAML::Value << "CustomResourceDefinition";
  e << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "name" << YAML::Value << r.plural + "." + group;
  e << YAML::Key << "annotations" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "mqbridge/generated-by" << YAML::Value
    << "mqbridge crds (config/schema.cc); do not edit";
  e << YAML::EndMap << YAML::EndMap;
  e << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "group" << YAML::Value << group;
  e << YAML::Key << "names" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "kind" << YAML::Value << r.kind;
  e << YAML::Key << "listKind" << YAML::Value << r.kind + "List";
  e << YAML::Key << "plural" << YAML::Value << r.plural;
  e << YAML::Key << "singular" << YAML::Value << r.singular;
  e << YAML::EndMap;
  e << YAML::Key << "scope" << YAML::Value << "Namespaced";
  e << YAML::Key << "versions" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  e << YAML::Key << "name" << YAML::Value << "v1beta1";
  e << YAML::Key << "served" << YAML::Value << true;
  e << YAML::Key << "storage" << YAML::Value << true;
  e << YAML::Key << "subresources" << YAML::Value << YAML::BeginMap << YAML::Key << "status"
    << YAML::Value << YAML::BeginMap << YAML::EndMap << YAML::EndMap;
  e << YAML::Key << "additionalPrinterColumns" << YAML::Value << YAML::BeginSeq;
  for (const auto& c : r.columns) {
    e << YAML::BeginMap << YAML::Key << "name" << YAML::Value << c.name << YAML::Key << "type"
      << YAML::Value << c.type << YAML::Key << "jsonPath" << YAML::Value << c.jsonPath;
    if (!c.description.empty()) {
      e << YAML::Key << "description" << YAML::Value << c.description;
    }
    e << YAML::EndMap;
  }
  e << YAML::EndSeq;
  e << YAML::Key << "schema" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "openAPIV3Schema" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "type" << YAML::Value << "object";
  e << YAML::Key << "description" << YAML::Value << r.description;
  e << YAML::Key << "properties" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "apiVersion" << YAML::Value << YAML::BeginMap << YAML::Key << "type"
    << YAML::Value << "string" << YAML::EndMap;
  e << YAML::Key << "kind" << YAML::Value << YAML::BeginMap << YAML::Key << "type" << YAML::Value
    << "string" << YAML::EndMap;
  e << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap << YAML::Key << "type"
    << YAML::Value << "object" << YAML::EndMap;
  e << YAML::Key << "spec" << YAML::Value;
  emitField(e, r.spec);
  e << YAML::Key << "status" << YAML::Value;
  emitField(e, r.status);
  e << YAML::EndMap;  // properties
  e << YAML::Key << "required" << YAML::Value << YAML::Flow << std::vector<std::string>{"spec"};
  e << YAML::EndMap;                  // openAPIV3Schema
  e << YAML::EndMap;                  // schema
  e << YAML::EndMap << YAML::EndSeq;  // versions
  e << YAML::EndMap;                  // spec
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

std::string allCrdsYaml() { return "---\n" + crdYaml(connector()) + "---\n" + crdYaml(topicMap()); }

}  // namespace mqb::config::schema
