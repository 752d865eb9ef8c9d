// The schema (config/schema.cc, source of the CRDs) and the loader agree on every field:
// walking the schema, each field is accepted with a valid value, rejected at its path with a
// wrong-typed value, required exactly when the schema says so, and enum and range limits match.

#include "config/schema.h"

#include <gtest/gtest.h>

#include <functional>

#include "tests/unit/config/config_test_util.h"

namespace mqb::config {
namespace {

using namespace testing;
using schema::Field;
using schema::Type;

struct Ancestor {
  std::string path;
  YAML::Node sample;
};

YAML::Node sample(const Field& f) {
  if (!f.example.empty()) {
    return YAML::Load(f.example);
  }
  switch (f.type) {
    case Type::String:
      return YAML::Node(f.enumValues.empty() ? std::string("x") : f.enumValues.front());
    case Type::Integer:
      return YAML::Node(static_cast<long long>(f.minimum.value_or(1)));
    case Type::Number:
      return YAML::Node(1.5);
    case Type::Boolean:
      return YAML::Node(true);
    case Type::Object: {
      YAML::Node n(YAML::NodeType::Map);
      for (const auto& c : f.fields) {
        if (c.required) {
          n[c.name] = sample(c);
        }
      }
      return n;
    }
    case Type::Array: {
      YAML::Node n(YAML::NodeType::Sequence);
      n.push_back(sample(f.items.front()));
      return n;
    }
  }
  return {};
}

YAML::Node wrongTyped(const Field& f) {
  switch (f.type) {
    case Type::String:
      return YAML::Load("{x: 1}");
    case Type::Integer:
    case Type::Number:
      return YAML::Node("abc");
    case Type::Boolean:
      return YAML::Node("maybe");
    case Type::Object:
    case Type::Array:
      return YAML::Node("scalar");
  }
  return {};
}

bool errorAtOrBelow(const LoadResult& r, const std::string& path) {
  for (const auto& d : r.diagnostics.all()) {
    if (d.severity == Severity::Error &&
        (d.path == path || d.path.rfind(path + ".", 0) == 0 || d.path.rfind(path + "[", 0) == 0)) {
      return true;
    }
  }
  return false;
}

class Agreement {
 public:
  explicit Agreement(bool isConnector) : isConnector_(isConnector) {}

  /// Loads the base resources after applying the ancestors' samples and `edit` to ours.
  LoadResult loadWith(const std::vector<Ancestor>& ancestors,
                      const std::function<void(YAML::Node)>& edit) const {
    YAML::Node c = baseConnector();
    setPath(c, "metadata.name", "my-mqtt-bridge");
    YAML::Node m = baseTopicMap();
    setPath(m, "spec.mqttBridgeConnectorRef", "my-mqtt-bridge");
    YAML::Node& mine = isConnector_ ? c : m;
    for (const auto& a : ancestors) {
      setPath(mine, a.path, YAML::Clone(a.sample));
    }
    edit(mine);
    return loadPair(c, m);
  }

  void walk(const Field& f, const std::string& path, std::vector<Ancestor> ancestors) {
    SCOPED_TRACE(path);
    ++checked_;
    // Accepted with a valid value.
    const LoadResult good = loadWith(ancestors, [&](YAML::Node n) { setPath(n, path, sample(f)); });
    EXPECT_FALSE(errorAtOrBelow(good, path)) << good.diagnostics.str();
    // Rejected at its path with a wrong-typed value.
    const LoadResult bad =
        loadWith(ancestors, [&](YAML::Node n) { setPath(n, path, wrongTyped(f)); });
    EXPECT_TRUE(hasError(bad, path)) << "wrong type not rejected\n" << bad.diagnostics.str();
    // Required exactly when the schema says so (absent: error at the path, or none).
    const LoadResult absent = loadWith(ancestors, [&](YAML::Node n) { erasePath(n, path); });
    EXPECT_EQ(hasError(absent, path, "required field is missing"), f.required)
        << absent.diagnostics.str();
    // Enumerations: every value accepted, anything else rejected.
    for (const auto& v : f.enumValues) {
      const LoadResult e =
          loadWith(ancestors, [&](YAML::Node n) { setPath(n, path, YAML::Node(v)); });
      EXPECT_FALSE(errorAtOrBelow(e, path)) << v << "\n" << e.diagnostics.str();
    }
    if (!f.enumValues.empty()) {
      const LoadResult e =
          loadWith(ancestors, [&](YAML::Node n) { setPath(n, path, YAML::Node("not-a-value")); });
      EXPECT_TRUE(hasError(e, path)) << e.diagnostics.str();
    }
    // Ranges.
    if (f.minimum && (f.type == Type::Integer || f.type == Type::Number)) {
      const double below = f.exclusiveMinimum ? *f.minimum : *f.minimum - 1;
      const LoadResult e = loadWith(ancestors, [&](YAML::Node n) {
        setPath(n, path, YAML::Node(static_cast<long long>(below)));
      });
      EXPECT_TRUE(hasError(e, path)) << "minimum not enforced\n" << e.diagnostics.str();
      if (!f.exclusiveMinimum) {
        const LoadResult at = loadWith(ancestors, [&](YAML::Node n) {
          setPath(n, path, YAML::Node(static_cast<long long>(*f.minimum)));
        });
        EXPECT_FALSE(errorAtOrBelow(at, path)) << at.diagnostics.str();
      }
    }
    if (f.maximum) {
      const LoadResult e = loadWith(ancestors, [&](YAML::Node n) {
        setPath(n, path, YAML::Node(static_cast<long long>(*f.maximum) + 1));
      });
      EXPECT_TRUE(hasError(e, path)) << "maximum not enforced\n" << e.diagnostics.str();
      const LoadResult at = loadWith(ancestors, [&](YAML::Node n) {
        setPath(n, path, YAML::Node(static_cast<long long>(*f.maximum)));
      });
      EXPECT_FALSE(errorAtOrBelow(at, path)) << at.diagnostics.str();
    }
    // Children.
    if (f.type == Type::Object) {
      auto next = ancestors;
      next.push_back({path, sample(f)});
      for (const auto& c : f.fields) {
        walk(c, path + "." + c.name, next);
      }
    }
    if (f.type == Type::Array) {
      const Field& item = f.items.front();
      auto next = ancestors;
      next.push_back({path, sample(f)});
      for (const auto& c : item.fields) {
        walk(c, path + "[0]." + c.name, next);
      }
    }
  }

  int checked() const { return checked_; }

 private:
  bool isConnector_;
  int checked_ = 0;
};

TEST(SchemaAgreement, ConnectorFields) {
  Agreement a(true);
  for (const auto& f : schema::connector().spec.fields) {
    a.walk(f, "spec." + f.name, {});
  }
  EXPECT_GT(a.checked(), 30);
}

TEST(SchemaAgreement, TopicMapFields) {
  Agreement a(false);
  for (const auto& f : schema::topicMap().spec.fields) {
    a.walk(f, "spec." + f.name, {});
  }
  EXPECT_GT(a.checked(), 15);
}

TEST(SchemaAgreement, UnknownFieldsAreRejectedWhereTheSchemaHasNone) {
  // The loader rejects a field the schema does not list (the CRD would prune it silently).
  YAML::Node m = baseTopicMap();
  setPath(m, "spec.routes[0].priority", "1");
  EXPECT_TRUE(hasError(loadPair(baseConnector(), m), "spec.routes[0].priority", "unknown field"));
}

TEST(Crd, GeneratedYamlIsWellFormedAndComplete) {
  for (const schema::Resource* r : {&schema::connector(), &schema::topicMap()}) {
    const YAML::Node crd = YAML::Load(schema::crdYaml(*r));
    EXPECT_EQ(crd["apiVersion"].as<std::string>(), "apiextensions.k8s.io/v1");
    EXPECT_EQ(crd["spec"]["group"].as<std::string>(), "mq.iotoperations.azure.com");
    EXPECT_EQ(crd["spec"]["names"]["kind"].as<std::string>(), r->kind);
    const YAML::Node v = crd["spec"]["versions"][0];
    EXPECT_EQ(v["name"].as<std::string>(), "v1beta1");
    const YAML::Node spec = v["schema"]["openAPIV3Schema"]["properties"]["spec"];
    EXPECT_EQ(spec["type"].as<std::string>(), "object");
    EXPECT_EQ(spec["properties"].size(), r->spec.fields.size());
  }
  const YAML::Node tm = YAML::Load(schema::crdYaml(schema::topicMap()));
  const YAML::Node stages = tm["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
                              ["spec"]["properties"]["routes"]["items"]["properties"]["stages"];
  EXPECT_TRUE(stages["items"]["x-kubernetes-preserve-unknown-fields"].as<bool>());
  EXPECT_EQ(stages["items"]["required"][0].as<std::string>(), "type");
  const YAML::Node qos = tm["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
                           ["spec"]["properties"]["routes"]["items"]["properties"]["qos"];
  EXPECT_EQ(qos["maximum"].as<int>(), 1);
  EXPECT_EQ(qos["default"].as<int>(), 1);
}

}  // namespace
}  // namespace mqb::config
