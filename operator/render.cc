#include "operator/render.h"

#include <map>
#include <regex>

#include "operator/status.h"
#include "operator/validation.h"

namespace mqb::op {

Json yamlToJson(const YAML::Node& n) {
  static const std::regex integer("^-?[0-9]+$");
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      Json o = Json::object();
      for (const auto& kv : n) {
        o[kv.first.as<std::string>()] = yamlToJson(kv.second);
      }
      return o;
    }
    case YAML::NodeType::Sequence: {
      Json a = Json::array();
      for (const auto& v : n) {
        a.push_back(yamlToJson(v));
      }
      return a;
    }
    case YAML::NodeType::Scalar: {
      const std::string s = n.Scalar();
      if (n.Tag() == "!") {
        return s;  // quoted: a string
      }
      if (std::regex_match(s, integer) && s.size() < 18) {
        return std::stoll(s);
      }
      if (s == "true" || s == "false") {
        return s == "true";
      }
      return s;
    }
    default:
      return nullptr;
  }
}

std::vector<Json> render(const std::vector<Json>& resources, const PodDefaults& pods,
                         const config::kube::Validate& validate, const std::string& now) {
  std::map<std::string, Json> connectors, topicMaps;
  for (Json r : resources) {
    if (!r.is_object() || !r.contains("metadata")) {
      continue;
    }
    Json& md = r["metadata"];
    if (!md.contains("namespace")) {
      md["namespace"] = "default";
    }
    md["uid"] = md.value("uid", "render-" + md.value("name", ""));
    const std::string kind = r.value("kind", "");
    if (kind == config::kConnectorKind) {
      connectors[md.value("name", "")] = r;
    } else if (kind == config::kTopicMapKind) {
      topicMaps[md.value("name", "")] = r;
    }
  }
  const Validation v = validateAll(connectors, topicMaps, validate);
  std::vector<Json> out;
  for (auto [name, c] : connectors) {
    ConnectorObservation o;
    o.generation = c.value("/metadata/generation"_json_pointer, std::int64_t{1});
    o.wanted = c.value("/spec/bridgeInstances"_json_pointer, 1);
    o.replicas = o.wanted;
    o.rolledOut = false;
    countTopicMaps(name, topicMaps, v, o);
    if (const auto bad = v.connectorErrors.find(name); bad != v.connectorErrors.end()) {
      o.connectorError = bad->second;
    }
    c["status"] = connectorStatus(o, Json(), now);
    out.push_back(c);
    if (const auto spec = v.connectors.find(name); spec != v.connectors.end()) {
      const Desired d = desiredObjects(c, spec->second, pods);
      out.insert(out.end(), {d.statefulSet, d.headlessService, d.metricsService});
    }
  }
  for (auto [name, t] : topicMaps) {
    const auto routes = v.topicMapRoutes.find(name);
    t["status"] = topicMapStatus(t.value("/metadata/generation"_json_pointer, std::int64_t{1}),
                                 routes == v.topicMapRoutes.end() ? 0 : routes->second,
                                 v.topicMapErrs.at(name), Json(), now);
    out.push_back(t);
  }
  return out;
}

}  // namespace mqb::op
