// The checks across resources, once every resource is read: unique names, connector references,
// route names unique per connector, the limits of MQTT 3.1.1 connectors, and the resolution of
// every connector's references to mounted files.

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "config/fields.h"
#include "config/loader_parts.h"
#include "config/topic.h"

namespace mqb::config {

namespace {

constexpr std::size_t kMqtt311MaxClientId = 23;

/// "file:line" of a resource or route, for "also defined at ...".
std::string where(const Location& l) {
  std::ostringstream os;
  os << l.file;
  if (l.line > 0) {
    os << ':' << l.line;
  }
  return os.str();
}

class CrossCheck {
 public:
  CrossCheck(const LoadOptions& o, BridgeConfig& config, Diagnostics& diag)
      : opts_(o), config_(config), diag_(diag) {}

  void run() {
    uniqueResourceNames();
    topicMapReferences();
    connectors();
    for (const auto& c : config_.connectors) {
      if (c.protocol == MqttVersion::V3) {
        mqtt311(c);
      }
    }
  }

 private:
  void uniqueResourceNames() {
    for (const auto& c : config_.connectors) {
      if (c.name.empty()) {
        continue;
      }
      auto [it, inserted] = connectors_.emplace(c.name, &c);
      if (!inserted) {
        diag_.error(c.where, "metadata.name",
                    "duplicate MqttBridgeConnector \"" + c.name + "\" (also defined at " +
                        where(it->second->where) + ")");
      }
    }
    std::map<std::string, const TopicMapSpec*> maps;
    for (const auto& t : config_.topicMaps) {
      if (t.name.empty()) {
        continue;
      }
      auto [it, inserted] = maps.emplace(t.name, &t);
      if (!inserted) {
        diag_.error(t.where, "metadata.name",
                    "duplicate MqttBridgeTopicMap \"" + t.name + "\" (also defined at " +
                        where(it->second->where) + ")");
      }
    }
  }

  /// Topic maps name an existing connector; route names are unique per connector.
  void topicMapReferences() {
    std::vector<std::string> connectorNames;
    for (const auto& [n, c] : connectors_) {
      connectorNames.push_back(n);
    }
    std::map<std::string, std::map<std::string, const RouteSpec*>> routesByConnector;
    for (const auto& t : config_.topicMaps) {
      if (t.connectorRef.empty()) {
        continue;
      }
      auto it = connectors_.find(t.connectorRef);
      if (it == connectors_.end()) {
        std::string msg = "no MqttBridgeConnector named \"" + t.connectorRef + "\"";
        if (auto near = nearest(t.connectorRef, connectorNames); !near.empty()) {
          msg += " (did you mean \"" + near + "\"?)";
        } else if (connectorNames.empty()) {
          msg += " (no connector is defined in the given files)";
        }
        diag_.error(t.refWhere, "spec.mqttBridgeConnectorRef", msg);
        continue;
      }
      used_.insert(t.connectorRef);
      if (!it->second->ns.empty() && !t.ns.empty() && it->second->ns != t.ns) {
        diag_.warning(t.refWhere, "spec.mqttBridgeConnectorRef",
                      "connector \"" + t.connectorRef + "\" is in namespace \"" + it->second->ns +
                          "\", this topic map in \"" + t.ns +
                          "\"; in a cluster they would not be linked");
      }
      uniqueRouteNames(t, routesByConnector[t.connectorRef]);
    }
  }

  void uniqueRouteNames(const TopicMapSpec& t, std::map<std::string, const RouteSpec*>& names) {
    for (const auto& r : t.routes) {
      if (r.name.empty()) {
        continue;
      }
      auto [rit, inserted] = names.emplace(r.name, &r);
      if (!inserted) {
        diag_.error(r.where, r.path + ".name",
                    "duplicate route name \"" + r.name + "\" on connector \"" + t.connectorRef +
                        "\" (also at " + where(rit->second->where) +
                        "); route names must be unique per connector" +
                        (r.nameDefaulted || rit->second->nameDefaulted
                             ? " (unnamed routes are named route<N> by position)"
                             : ""));
      }
    }
  }

  /// Unused connectors, a connector bridging a broker to itself; resolves the references.
  void connectors() {
    for (auto& c : config_.connectors) {
      if (!c.name.empty() && used_.count(c.name) == 0 && connectors_[c.name] == &c) {
        diag_.warning(
            c.where, "metadata.name",
            "no MqttBridgeTopicMap refers to connector \"" + c.name + "\"; it bridges nothing");
      }
      if (!c.remote.endpoint.empty() && c.remote.endpoint == c.local.endpoint) {
        diag_.warning(c.remote.where, c.remote.path + ".endpoint",
                      "remote and local endpoints are the same broker; routes may loop and "
                      "client IDs collide");
      }
      detail::resolveReferences(opts_, c.remote, diag_);
      detail::resolveReferences(opts_, c.local, diag_);
    }
  }

  /// MQTT 3.1.1 limits: client ID length, shared subscriptions, loops.
  void mqtt311(const ConnectorSpec& c) {
    std::vector<const RouteSpec*> routes;
    for (const auto& t : config_.topicMaps) {
      if (t.connectorRef != c.name) {
        continue;
      }
      for (const auto& r : t.routes) {
        routes.push_back(&r);
        mqtt311Clients(c, r);
      }
    }
    for (std::size_t i = 0; i < routes.size(); ++i) {
      for (std::size_t j = i + 1; j < routes.size(); ++j) {
        mqtt311Loop(*routes[i], *routes[j]);
      }
    }
  }

  void mqtt311Clients(const ConnectorSpec& c, const RouteSpec& r) {
    std::string longest = c.clientIdPrefix + r.name;
    if (r.sharedSubscription) {
      longest += '-';
      longest += std::to_string(r.clientCount() - 1);
      diag_.warning(r.where, r.path + ".sharedSubscription",
                    "connector \"" + c.name +
                        "\" uses MQTT v3.1.1: shared subscriptions break if a broker does "
                        "not support them; use protocol v5");
    }
    if (longest.size() > kMqtt311MaxClientId) {
      diag_.warning(r.where, r.path + ".name",
                    "client ID \"" + longest + "\" is " + std::to_string(longest.size()) +
                        " bytes; MQTT 3.1.1 brokers may refuse IDs longer than 23 bytes");
    }
  }

  /// Routes in opposite directions, each one's target overlapping the other's source.
  void mqtt311Loop(const RouteSpec& a, const RouteSpec& b) {
    if (a.direction == b.direction || a.source.empty() || b.source.empty()) {
      return;
    }
    const std::string ta = topic::templateAsFilter(a.target.value_or(a.source));
    const std::string tb = topic::templateAsFilter(b.target.value_or(b.source));
    if (topic::overlaps(ta, b.source) && topic::overlaps(tb, a.source)) {
      diag_.warning(b.where, b.path,
                    "routes " + a.name + " and " + b.name +
                        " form a loop; on v5 mqbridge breaks it with a hop marker, on v3 it "
                        "cannot");
    }
  }

  const LoadOptions& opts_;
  BridgeConfig& config_;
  Diagnostics& diag_;
  std::map<std::string, const ConnectorSpec*> connectors_;  ///< by name, the first of each
  std::set<std::string> used_;                              ///< connectors a topic map names
};

}  // namespace

void detail::crossCheck(const LoadOptions& o, BridgeConfig& config, Diagnostics& diag) {
  CrossCheck(o, config, diag).run();
}

}  // namespace mqb::config
