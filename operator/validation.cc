#include "operator/validation.h"

#include "config/loader.h"

namespace mqb::op {
namespace {

std::string nameOf(const Json& o) { return o.value("/metadata/name"_json_pointer, ""); }

/// "path: message" of every error of `diag` attributed to `src`.
std::vector<std::string> errorsOf(const config::Diagnostics& diag, const std::string& src) {
  std::vector<std::string> out;
  for (const auto& d : diag.sorted()) {
    if (d.severity == config::Severity::Error && d.where.file == src) {
      out.push_back(d.path.empty() ? d.message : d.path + ": " + d.message);
    }
  }
  return out;
}

config::LoadResult loadObjects(const std::vector<std::pair<const Json*, std::string>>& objects,
                               const config::kube::Validate& validate, config::Diagnostics& extra) {
  config::Loader loader(config::LoadOptions{});
  for (const auto& [o, src] : objects) {
    Json slim = {
        {"apiVersion", o->value("apiVersion", "")},
        {"kind", o->value("kind", "")},
        {"metadata",
         {{"name", nameOf(*o)}, {"namespace", o->value("/metadata/namespace"_json_pointer, "")}}}};
    if (o->contains("spec")) {
      slim["spec"] = (*o)["spec"];
    }
    loader.addResource(config::kube::toYaml(slim), src);
  }
  config::LoadResult r = loader.finish();
  if (r.config && validate) {
    validate(*r.config, extra);
  }
  return r;
}

}  // namespace

Validation validateAll(const std::map<std::string, Json>& connectors,
                       const std::map<std::string, Json>& topicMaps,
                       const config::kube::Validate& validate) {
  Validation v;
  for (const auto& [name, c] : connectors) {
    const std::string src = "kube:mqttbridgeconnectors/" + name;
    config::Diagnostics extra;
    const config::LoadResult r = loadObjects({{&c, src}}, validate, extra);
    if (r.config && r.config->connector(name) != nullptr) {
      v.connectors.emplace(name, *r.config->connector(name));
    } else {
      std::string why;
      for (const auto& m : errorsOf(r.diagnostics, src)) {
        why.append(why.empty() ? "" : "; ").append(m);
      }
      v.connectorErrors.emplace(name, why.empty() ? "invalid" : why);
    }
  }
  for (const auto& [name, t] : topicMaps) {
    const std::string src = "kube:mqttbridgetopicmaps/" + name;
    const std::string ref = t.value("/spec/mqttBridgeConnectorRef"_json_pointer, "");
    const auto c = connectors.find(ref);
    std::vector<std::pair<const Json*, std::string>> objects = {{&t, src}};
    if (c != connectors.end() && v.connectors.count(ref) != 0) {
      objects.emplace_back(&c->second, "kube:mqttbridgeconnectors/" + ref);
    }
    config::Diagnostics extra;
    const config::LoadResult r = loadObjects(objects, validate, extra);
    std::vector<std::string> errs = errorsOf(r.diagnostics, src);
    for (const auto& m : errorsOf(extra, src)) {
      errs.push_back(m);
    }
    if (c != connectors.end() && v.connectors.count(ref) == 0) {
      errs.push_back("spec.mqttBridgeConnectorRef: connector " + ref + " is invalid");
    }
    if (errs.empty() && r.config) {
      int routes = 0;
      for (const auto& tm : r.config->topicMaps) {
        routes += static_cast<int>(tm.routes.size());
      }
      v.topicMapRoutes[name] = routes;
    }
    v.topicMapErrs[name] = std::move(errs);
  }
  return v;
}

void countTopicMaps(const std::string& connector, const std::map<std::string, Json>& topicMaps,
                    const Validation& v, ConnectorObservation& o) {
  for (const auto& [name, t] : topicMaps) {
    if (t.value("/spec/mqttBridgeConnectorRef"_json_pointer, "") != connector) {
      continue;
    }
    const auto errs = v.topicMapErrs.find(name);
    if (errs != v.topicMapErrs.end() && !errs->second.empty()) {
      o.invalidTopicMaps.push_back(name);
    } else if (const auto r = v.topicMapRoutes.find(name); r != v.topicMapRoutes.end()) {
      o.routes += r->second;
    }
  }
}

}  // namespace mqb::op
