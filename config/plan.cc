#include "config/plan.h"

#include <algorithm>
#include <ostream>

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
  os << ')' << (defaulted ? " [default]" : "") << '\n';
}

}  // namespace

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
