#pragma once
// Declarative description of the MqttBridgeConnector and MqttBridgeTopicMap `spec` fields: the
// single source for the CustomResourceDefinitions (deploy/kubernetes/crds/, `mqbridge crds`).
// Enumeration names come from config/enums.h and defaults from the model's initial values
// (config/model.h), both of which the loader uses too. The loader (config/loader.h) implements the
// other rules; tests/unit/config/schema_test.cc walks this description and checks that the loader
// agrees on every field (types, required, enums, ranges), so the two cannot drift.

#include <optional>
#include <string>
#include <vector>

namespace mqb::config::schema {

enum class Type { String, Integer, Number, Boolean, Object, Array };

/// One field. Build with the helpers below, e.g.
///   integer("qos", "MQTT QoS.").min(0).max(1).def("1")
struct Field {
  std::string name;
  Type type = Type::String;
  std::string description;
  bool required = false;
  bool extension = false;  ///< beyond the Azure IoT MQ spec (documented as such)
  std::vector<std::string> enumValues;
  std::optional<double> minimum;
  std::optional<double> maximum;
  bool exclusiveMinimum = false;  ///< minimum is exclusive (numbers: "> 0")
  std::string pattern;            ///< ECMA regex the value must match (CRD only)
  std::string defaultValue;       ///< YAML text of the default applied by the loader, "" = none
  std::string example;            ///< YAML text of a valid value (tests, docs), "" = derived
  std::optional<int> minItems;
  bool preserveUnknownFields = false;  ///< object whose other keys are validated elsewhere
  std::vector<Field> fields;           ///< Object: properties
  std::vector<Field> items;            ///< Array: exactly one element, the item schema

  Field req() const;
  Field ext() const;
  Field oneOf(std::vector<std::string> values) const;
  Field min(double v, bool exclusive = false) const;
  Field max(double v) const;
  Field def(std::string yaml) const;
  Field eg(std::string yaml) const;
  Field matching(std::string regex) const;
  Field atLeast(int n) const;
  Field preserveUnknown() const;
};

Field string(std::string name, std::string description);
Field integer(std::string name, std::string description);
Field number(std::string name, std::string description);
Field boolean(std::string name, std::string description);
Field object(std::string name, std::string description, std::vector<Field> fields);
Field array(std::string name, std::string description, Field item);

/// A column of `kubectl get` (additionalPrinterColumns).
struct PrinterColumn {
  std::string name;
  std::string type;  ///< string | integer | boolean | date
  std::string jsonPath;
  std::string description;
};

/// A custom resource: names, the schema of `spec` (an Object field named "spec") and of the
/// `status` that `mqbridge operator` writes (status subresource), and its `kubectl get` columns.
struct Resource {
  std::string kind;      ///< MqttBridgeConnector
  std::string plural;    ///< mqttbridgeconnectors
  std::string singular;  ///< mqttbridgeconnector
  std::string description;
  Field spec;
  Field status;
  std::vector<PrinterColumn> columns;
};

const Resource& connector();
const Resource& topicMap();

/// The CustomResourceDefinition (apiextensions.k8s.io/v1) of `r` as YAML, deterministic.
std::string crdYaml(const Resource& r);

/// Both CRDs, "---"-separated (what `mqbridge crds` prints).
std::string allCrdsYaml();

/// "string", "integer", ... (OpenAPI type names).
const char* typeName(Type t);

}  // namespace mqb::config::schema
