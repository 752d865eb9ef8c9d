// TEMPORARY (integrator: delete this file once app/app_config.h lands on main).
//
// A minimal stand-in for app/app_config.h's loadConfig(), so that `mqbridge loadtest` works on
// this branch before the real loader (config/ and app/app_config.*) is merged. It reads only what
// loadtest needs (connector name and rateLimit; topic maps and their routes), checks little and
// resolves no files. When app/app_config.h exists this file compiles to nothing.

#if !__has_include("app/app_config.h")

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "app/commands.h"
#include "config/diagnostics.h"
#include "config/fields.h"
#include "config/model.h"

namespace mqb::app {

namespace {

std::optional<config::RateLimitSpec> rateLimitOf(const YAML::Node& n) {
  if (!n || !n.IsMap()) {
    return std::nullopt;
  }
  config::RateLimitSpec r;
  auto num = [&n](const char* k) { return n[k] ? n[k].as<double>() : 0.0; };
  r.messagesPerSecond = num("messagesPerSecond");
  r.bytesPerSecond = num("bytesPerSecond");
  r.burstMessages = num("burstMessages");
  r.burstBytes = num("burstBytes");
  return r;
}

void loadDocument(const YAML::Node& doc, const std::string& file, config::BridgeConfig& out) {
  if (!doc.IsMap() || !doc["kind"]) {
    return;
  }
  const std::string kind = doc["kind"].as<std::string>();
  const YAML::Node meta = doc["metadata"];
  const YAML::Node spec = doc["spec"];
  if (kind == config::kConnectorKind) {
    config::ConnectorSpec c;
    c.name = meta["name"].as<std::string>();
    c.where = config::locationOf(doc, file);
    if (spec && spec["rateLimit"]) {
      c.rateLimit = rateLimitOf(spec["rateLimit"]);
    }
    out.connectors.push_back(std::move(c));
  } else if (kind == config::kTopicMapKind) {
    config::TopicMapSpec t;
    t.name = meta["name"].as<std::string>();
    t.connectorRef = spec["mqttBridgeConnectorRef"].as<std::string>();
    t.where = config::locationOf(doc, file);
    const YAML::Node routes = spec["routes"];
    for (std::size_t i = 0; routes && i < routes.size(); ++i) {
      const YAML::Node r = routes[i];
      config::RouteSpec route;
      route.path = "spec.routes[" + std::to_string(i) + "]";
      route.where = config::locationOf(r, file);
      if (r["name"]) {
        route.name = r["name"].as<std::string>();
      } else {
        route.name = "route" + std::to_string(i + 1);
        route.nameDefaulted = true;
      }
      route.direction = r["direction"] && r["direction"].as<std::string>() == "remote-to-local"
                            ? config::Direction::RemoteToLocal
                            : config::Direction::LocalToRemote;
      route.qos = r["qos"] ? r["qos"].as<int>() : 1;
      route.source = r["source"].as<std::string>();
      if (r["target"]) {
        route.target = r["target"].as<std::string>();
      }
      if (const YAML::Node s = r["sharedSubscription"]) {
        config::SharedSubscriptionSpec ss;
        ss.groupMinimumShareNumber = s["groupMinimumShareNumber"].as<int>();
        ss.groupName = s["groupName"] ? s["groupName"].as<std::string>() : "";
        route.sharedSubscription = ss;
      }
      route.rateLimit = rateLimitOf(r["rateLimit"]);
      const YAML::Node stages = r["stages"];
      for (std::size_t k = 0; stages && k < stages.size(); ++k) {
        config::StageSpec st;
        st.params = stages[k];
        st.type = stages[k]["type"] ? stages[k]["type"].as<std::string>() : "";
        st.path = route.path + ".stages[" + std::to_string(k) + "]";
        st.where = config::locationOf(stages[k], file);
        route.stages.push_back(std::move(st));
      }
      route.topicMap = t.name;
      route.connector = t.connectorRef;
      t.routes.push_back(std::move(route));
    }
    out.topicMaps.push_back(std::move(t));
  }
}

}  // namespace

std::optional<config::BridgeConfig> loadConfig(const ConfigOptions& options, bool /*checkFiles*/,
                                               config::Diagnostics& diag) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const auto& p : options.configPaths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (const auto& e : fs::directory_iterator(p, ec)) {
        const auto ext = e.path().extension();
        if (ext == ".yaml" || ext == ".yml") {
          found.push_back(e.path().string());
        }
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(p);
    }
  }
  config::BridgeConfig out;
  for (const auto& f : files) {
    try {
      for (const YAML::Node& doc : YAML::LoadAllFromFile(f)) {
        loadDocument(doc, f, out);
      }
    } catch (const YAML::Exception& e) {
      config::Location where{f, e.mark.is_null() ? 0 : e.mark.line + 1,
                             e.mark.is_null() ? 0 : e.mark.column + 1};
      diag.error(where, "", e.msg.empty() ? std::string(e.what()) : e.msg);
    }
  }
  if (diag.hasErrors()) {
    return std::nullopt;
  }
  return out;
}

}  // namespace mqb::app

#endif
