// Reads an MqttBridgeTopicMap's spec: the connector it belongs to and its routes.

#include <cctype>
#include <cstdint>
#include <string>

#include "config/enums.h"
#include "config/env_refs.h"
#include "config/fields.h"
#include "config/loader_parts.h"
#include "config/rate_limit.h"
#include "config/spool.h"
#include "config/topic.h"
#include "config/topic_template.h"

namespace mqb::config {

namespace {

constexpr std::int64_t kMaxShareNumber = 1000;

void readRouteName(Fields& f, std::size_t index, RouteSpec& r) {
  if (auto name = f.str("name")) {
    if (auto e = routeNameError(*name); !e.empty()) {
      f.error("name", e);
    }
    r.name = *name;
  } else if (!f.has("name")) {
    r.name = "route" + std::to_string(index + 1);
    r.nameDefaulted = true;
    f.warning("name", "route has no name; using \"" + r.name +
                          "\" (its position in the topic map). Name it: the client IDs "
                          "are built from it");
  }
}

/// `source` (a topic filter) and `target` (a topic name or template). Values with ${env:NAME}
/// references are checked once expanded (config/env_refs.h).
void readTopics(Fields& f, RouteSpec& r) {
  if (auto s = f.str("source", true)) {
    r.source = *s;
    r.sourceWhere = f.at("source");
    if (!hasEnvReference(*s)) {
      detail::checkSource(*s, r.sourceWhere, f.pathOf("source"), f.diag());
    }
  }
  if (auto tg = f.str("target")) {
    r.target = *tg;
    r.targetWhere = f.at("target");
    if (!hasEnvReference(*tg)) {
      detail::checkTarget(*tg, r.targetWhere, f.pathOf("target"), f.diag());
    }
  }
}

void readSharedSubscription(Fields& f, RouteSpec& r) {
  YAML::Node ss = f.mapping("sharedSubscription");
  if (!ss.IsDefined()) {
    return;
  }
  Fields g(ss, f.file(), f.pathOf("sharedSubscription"), f.diag());
  SharedSubscriptionSpec sub;
  sub.groupMinimumShareNumber =
      static_cast<int>(g.integer("groupMinimumShareNumber", true, 1, kMaxShareNumber).value_or(1));
  if (auto gn = g.str("groupName", true)) {
    if (auto e = topic::groupNameError(*gn); !e.empty()) {
      g.error("groupName", e);
    }
    sub.groupName = *gn;
  }
  g.finish();
  r.sharedSubscription = sub;
}

void readStages(Fields& f, RouteSpec& r) {
  YAML::Node st = f.sequence("stages");
  if (!st.IsDefined()) {
    return;
  }
  for (std::size_t j = 0; j < st.size(); ++j) {
    StageSpec stage;
    stage.path = f.pathOf("stages") + "[" + std::to_string(j) + "]";
    Fields g(st[j], f.file(), stage.path, f.diag());
    stage.where = g.location();
    if (!g.ok()) {
      continue;
    }
    // Only `type` is read here; the stage registry validates the other parameters.
    stage.type = g.str("type", true).value_or("");
    stage.params = st[j];
    r.stages.push_back(std::move(stage));
  }
}

void readRoute(const Fields& s, const YAML::Node& n, std::size_t index, TopicMapSpec& t) {
  RouteSpec r;
  r.path = "spec.routes[" + std::to_string(index) + "]";
  Fields f(n, s.file(), r.path, s.diag());
  r.where = f.location();
  if (!f.ok()) {
    return;
  }
  readRouteName(f, index, r);
  r.direction = readEnum<Direction>(f, "direction", true).value_or(r.direction);
  if (auto q = f.integer("qos", false, 0, 1)) {
    r.qos = static_cast<int>(*q);
  }
  readTopics(f, r);
  readSharedSubscription(f, r);
  r.rateLimit = readRateLimit(f, "rateLimit");
  r.retain = readEnum<RetainPolicy>(f, "retain").value_or(r.retain);
  r.ttlSeconds = f.number("ttlSeconds", false, 0);
  r.spool = readSpool(f, "spool");
  readStages(f, r);
  f.finish();
  r.topicMap = t.name;
  r.connector = t.connectorRef;
  t.routes.push_back(std::move(r));
}

}  // namespace

void detail::checkSource(const std::string& source, const Location& where, const std::string& path,
                         Diagnostics& diag) {
  if (source.rfind("$share/", 0) == 0) {
    diag.error(where, path,
               "must be a plain topic filter; use sharedSubscription for \"$share/...\"");
  } else if (auto e = topic::filterError(source); !e.empty()) {
    diag.error(where, path, "not a valid MQTT topic filter: " + e);
  }
}

void detail::checkTarget(const std::string& target, const Location& where, const std::string& path,
                         Diagnostics& diag) {
  topic::compileTarget(target, where, path, diag);
}

void detail::readTopicMap(const YAML::Node& spec, const std::string& file, Diagnostics& diag,
                          TopicMapSpec& t) {
  Fields s(spec, file, "spec", diag);
  t.connectorRef = s.str("mqttBridgeConnectorRef", true).value_or("");
  t.refWhere = s.at("mqttBridgeConnectorRef");
  if (YAML::Node routes = s.sequence("routes", true); routes.IsDefined()) {
    if (routes.size() == 0) {
      s.error("routes", "needs at least one route");
    }
    for (std::size_t i = 0; i < routes.size(); ++i) {
      readRoute(s, routes[i], i, t);
    }
  }
  s.finish();
}

std::string routeNameError(const std::string& name) {
  if (name.empty()) {
    return "must not be empty";
  }
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (!(std::isalnum(c) != 0 && c < 0x80) && c != '-' && c != '_') {
      return "must contain only letters, digits, '-' and '_' (it becomes part of a client ID), "
             "got \"" +
             name + "\"";
    }
  }
  return {};
}

}  // namespace mqb::config
