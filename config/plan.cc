#include "config/plan.h"

#include <algorithm>
#include <ostream>

#include "config/network.h"
#include "config/rate_limit.h"
#include "config/topic.h"

namespace mqb::config {

namespace {

const char* name(MqttVersion v) { return v == MqttVersion::V5 ? "v5" : "v3 (MQTT 3.1.1)"; }
const char* name(Direction d) {
  return d == Direction::RemoteToLocal ? "remote-to-local" : "local-to-remote";
}
const char* name(AuthSpec::Kind k) {
  switch (k) {
    case AuthSpec::Kind::Anonymous:
      return "anonymous";
    case AuthSpec::Kind::SystemAssignedManagedIdentity:
      return "systemAssignedManagedIdentity";
    case AuthSpec::Kind::X509:
      return "x509";
    case AuthSpec::Kind::Kubernetes:
      return "kubernetes";
    case AuthSpec::Kind::UsernamePassword:
      return "usernamePassword";
  }
  return "?";
}

/// The extensions of a broker connection's network path, one line each, only where set.
void printNetwork(std::ostream& os, const BrokerConnection& b) {
  auto via = [&](const std::string& host) {
    return proxyApplies(b.proxy, host) ? "via proxy " + describeProxy(b.proxy) : "direct";
  };
  if (b.proxy.source != ProxySpec::Source::None) {
    os << "    path: " << via(b.host);
    if (b.proxy.source == ProxySpec::Source::Environment && !b.proxy.noProxy.empty()) {
      os << " (NO_PROXY has " << b.proxy.noProxy.size() << " entries)";
    }
    os << '\n';
  } else if (b.proxy.configured) {
    os << "    path: direct (proxy environment ignored)\n";
  }
  if (b.tls.enabled && !b.tls.alpn.empty()) {
    os << "    ALPN:";
    for (const auto& a : b.tls.alpn) {
      os << ' ' << a;
    }
    os << '\n';
  }
  if (!b.fallbackEndpoints.empty()) {
    os << "    failover:";
    for (const auto& e : b.fallbackEndpoints) {
      os << ' ' << e.endpoint;
      if (b.proxy.source != ProxySpec::Source::None) {
        os << " (" << via(e.host) << ')';
      }
    }
    if (b.returnToPrimary) {
      os << "; back to " << b.endpoint << " when reachable (checked every " << b.primaryCheckSeconds
         << " s)";
    } else {
      os << "; stays on a fallback until it fails";
    }
    os << '\n';
  }
}

void printBroker(std::ostream& os, const char* label, const BrokerConnection& b, bool defaulted) {
  os << "  " << label << ": " << b.endpoint << " ("
     << (b.transport == Transport::WebSocket ? "webSocket" : "mqtt") << ", ";
  if (b.tls.enabled) {
    os << "TLS";
    if (!b.tls.trustedCaCertificateConfigMap.empty()) {
      os << " trusting ConfigMap " << b.tls.trustedCaCertificateConfigMap;
    }
  } else {
    os << "no TLS";
  }
  os << ", auth " << name(b.auth.kind);
  if (!b.auth.secretName.empty()) {
    os << " from Secret " << b.auth.secretName;
  }
  if (b.maxPacketSize != BrokerConnection{}.maxPacketSize) {
    os << ", packets up to " << b.maxPacketSize << " bytes";
  }
  if (b.ackTimeoutSeconds != BrokerConnection{}.ackTimeoutSeconds) {
    os << ", ack timeout " << b.ackTimeoutSeconds << " s";
  }
  if (b.credentialCheckSeconds != BrokerConnection{}.credentialCheckSeconds) {
    os << ", credential check every " << b.credentialCheckSeconds << " s";
  }
  os << ')' << (defaulted ? " [default]" : "") << '\n';
  printNetwork(os, b);
}

/// The parameters a qos stage takes from its route.
void addQos(YAML::Node& params, const RouteSpec& route) { params["qos"] = route.qos; }

/// The parameters a rate_limit stage takes from its route (none when no limit is in force).
void addRateLimit(YAML::Node& params, const ConnectorSpec* connector, const RouteSpec& route) {
  const RateLimitSpec l = effectiveRateLimit(connector, &route);
  const std::pair<const char*, double> fields[] = {{"messagesPerSecond", l.messagesPerSecond},
                                                   {"bytesPerSecond", l.bytesPerSecond},
                                                   {"burstMessages", l.burstMessages},
                                                   {"burstBytes", l.burstBytes}};
  for (const auto& [key, value] : fields) {
    if (value > 0) {
      params[key] = value;
    }
  }
}

StageSpec implicitStage(const char* type, const RouteSpec& route) {
  StageSpec s;
  s.type = type;
  s.params = YAML::Node(YAML::NodeType::Map);
  s.params["type"] = type;
  s.path = route.path;
  s.where = route.where;
  return s;
}

/// `own` with the route's values added, when it is a qos or rate_limit stage without parameters.
/// The new mapping shares `own`'s entries (and so their locations).
StageSpec inheritRouteValues(const StageSpec& own, const ConnectorSpec* connector,
                             const RouteSpec& route) {
  if ((own.type != "qos" && own.type != "rate_limit") || !own.params.IsMap() ||
      own.params.size() != 1) {
    return own;
  }
  StageSpec s = own;
  s.params = YAML::Node(YAML::NodeType::Map);
  for (const auto& kv : own.params) {
    s.params[kv.first] = kv.second;
  }
  if (own.type == "qos") {
    addQos(s.params, route);
  } else {
    addRateLimit(s.params, connector, route);
  }
  return s;
}

}  // namespace

std::vector<StageSpec> stageChain(const ConnectorSpec* connector, const RouteSpec& route) {
  std::vector<StageSpec> chain;
  chain.reserve(3 + route.stages.size());
  chain.push_back(implicitStage("topic_rewrite", route));
  if (route.target) {
    chain.back().params["target"] = *route.target;
  }
  chain.push_back(implicitStage("qos", route));
  addQos(chain.back().params, route);
  chain.push_back(implicitStage("rate_limit", route));
  addRateLimit(chain.back().params, connector, route);
  for (const auto& own : route.stages) {
    chain.push_back(inheritRouteValues(own, connector, route));
  }
  return chain;
}

std::string clientId(const ConnectorSpec& c, const RouteSpec& r, int index) {
  std::string id = c.clientIdPrefix + r.name;
  if (r.sharedSubscription) {
    id += '-';
    id += std::to_string(index);
  }
  return id;
}

std::string subscriptionOf(const RouteSpec& r) {
  if (r.sharedSubscription) {
    return topic::sharedSubscription(r.sharedSubscription->groupName, r.source);
  }
  return r.source;
}

Plan Plan::build(const BridgeConfig& config) {
  Plan p;
  std::vector<const ConnectorSpec*> cs;
  for (const auto& c : config.connectors) {
    cs.push_back(&c);
  }
  std::stable_sort(cs.begin(), cs.end(), [](const ConnectorSpec* a, const ConnectorSpec* b) {
    return a->name < b->name;
  });
  for (const ConnectorSpec* c : cs) {
    ConnectorPlan cp;
    cp.connector = c;
    for (const auto& t : config.topicMaps) {
      if (t.connectorRef != c->name) {
        continue;
      }
      for (const auto& r : t.routes) {
        RoutePlan rp;
        rp.route = &r;
        for (int i = 0; i < r.clientCount(); ++i) {
          ClientPlan cl;
          cl.index = i;
          cl.clientId = clientId(*c, r, i);
          cl.subscription = subscriptionOf(r);
          rp.clients.push_back(std::move(cl));
        }
        cp.routes.push_back(std::move(rp));
      }
    }
    std::stable_sort(
        cp.routes.begin(), cp.routes.end(),
        [](const RoutePlan& a, const RoutePlan& b) { return a.route->name < b.route->name; });
    // Units in (route, client index) order; unit k -> instance k % N.
    const int n = std::max(1, c->bridgeInstances);
    int k = 0;
    for (auto& rp : cp.routes) {
      for (auto& cl : rp.clients) {
        cl.instance = k++ % n;
      }
    }
    p.connectors_.push_back(std::move(cp));
  }
  return p;
}

std::vector<WorkUnit> Plan::assignedTo(int instance) const {
  std::vector<WorkUnit> out;
  for (const auto& cp : connectors_) {
    for (const auto& rp : cp.routes) {
      for (const auto& cl : rp.clients) {
        if (cl.instance == instance) {
          out.push_back(WorkUnit{cp.connector, rp.route, &cl});
        }
      }
    }
  }
  return out;
}

std::string statusClientId(const ConnectorSpec& c, int instance) {
  return c.clientIdPrefix + "status-" + std::to_string(instance);
}

void Plan::print(std::ostream& os, const PrintOptions& options) const {
  for (const auto& cp : connectors_) {
    const ConnectorSpec& c = *cp.connector;
    os << "connector " << c.name << ": protocol " << name(c.protocol) << ", " << c.bridgeInstances
       << (c.bridgeInstances == 1 ? " instance" : " instances") << ", client ID prefix \""
       << c.clientIdPrefix << "\"\n";
    printBroker(os, "remote", c.remote, false);
    printBroker(os, "local ", c.local, c.localDefaulted);
    if (!c.statusTopic.empty()) {
      os << "  status: retained online/offline on local " << c.statusTopic
         << (c.bridgeInstances > 1 ? "/<instance>" : "") << "\n";
      os << "    status client IDs:";
      for (int i = 0; i < c.bridgeInstances; ++i) {
        os << ' ' << statusClientId(c, i);
      }
      os << '\n';
    }
    if (!c.deadLetterTopic.empty()) {
      os << "  dead letters: also published on local " << c.deadLetterTopic << "/<route>\n";
    }
    if (cp.routes.empty()) {
      os << "  (no routes)\n";
    }
    for (const auto& rp : cp.routes) {
      const RouteSpec& r = *rp.route;
      os << "  route " << r.name << " (topic map " << r.topicMap << "): " << name(r.direction)
         << ", " << r.source << " -> " << r.target.value_or(r.source)
         << (r.target ? "" : " (same as source)") << ", QoS " << r.qos << '\n';
      os << "    subscription: " << subscriptionOf(r) << '\n';
      os << "    client IDs:";
      for (const auto& cl : rp.clients) {
        os << ' ' << cl.clientId;
      }
      os << '\n';
      if (options.routeDetails) {
        for (const auto& line : options.routeDetails(r)) {
          os << "    " << line << '\n';
        }
      }
    }
    if (options.instances) {
      for (int i = 0; i < c.bridgeInstances; ++i) {
        os << "  instance " << i << ':';
        bool any = false;
        for (const auto& rp : cp.routes) {
          for (const auto& cl : rp.clients) {
            if (cl.instance == i) {
              os << ' ' << cl.clientId;
              any = true;
            }
          }
        }
        os << (any ? "" : " (idle)") << '\n';
      }
    }
  }
}

}  // namespace mqb::config
