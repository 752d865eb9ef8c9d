#pragma once
// The bridge plan: which MQTT clients exist, what they subscribe to, and which instance serves
// each of them. Derived from a validated BridgeConfig; printed by `mqbridge validate`.
//
// Client IDs (the spec's rule, "client-" + "route1" = "client-route1"):
//   route without sharedSubscription:      <clientIdPrefix><route>
//   sharedSubscription of N (N clients):  <clientIdPrefix><route>-<i>, i = 0..N-1 (0-based)
// Each client ID is used on both sides of its route: the subscriber connection on the source
// broker and the publisher connection on the target broker (two different brokers).
//
// Instance assignment: the work units of a connector (each route's each client) are
// sorted by (route name, client index) and unit k goes to instance k % bridgeInstances. Every
// unit is served by exactly one instance, counts differ by at most one, and the result depends
// only on the configuration (not on file order). A shared subscription of N means N clients in
// total, however many instances there are.

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "config/model.h"

namespace mqb::config {

struct ClientPlan {
  int index = 0;             ///< 0..clientCount-1
  std::string clientId;      ///< see the header comment
  std::string subscription;  ///< "$share/<group>/<source>" or the source filter
  int instance = 0;          ///< bridge instance serving this client
};

struct RoutePlan {
  const RouteSpec* route = nullptr;  ///< points into the BridgeConfig the plan was built from
  std::vector<ClientPlan> clients;
};

struct ConnectorPlan {
  const ConnectorSpec* connector = nullptr;  ///< points into the BridgeConfig
  std::vector<RoutePlan> routes;             ///< sorted by route name
};

/// One unit of work for an instance: one client of one route.
struct WorkUnit {
  const ConnectorSpec* connector = nullptr;
  const RouteSpec* route = nullptr;
  const ClientPlan* client = nullptr;
};

struct PrintOptions {
  bool instances = false;  ///< also print the per-instance assignment
  /// Hook for extra lines under each route (e.g. the integrator's stage chain,
  /// "stages: topic_rewrite -> qos -> rate_limit -> sink"). Each returned line is printed
  /// indented under the route. May be empty.
  std::function<std::vector<std::string>(const RouteSpec&)> routeDetails;
};

/// Immutable after build(). Holds pointers into `config`: the BridgeConfig must outlive the
/// Plan and must not be modified. Copying a Plan is fine (WorkUnits point into the original's
/// storage only via assignedTo(), which returns fresh pointers into *this).
class Plan {
 public:
  /// `config` must be valid (a LoadResult's config).
  static Plan build(const BridgeConfig& config);

  const std::vector<ConnectorPlan>& connectors() const noexcept { return connectors_; }

  /// Everything instance `instance` (0-based) serves, over all connectors, in plan order.
  /// A connector with fewer instances than `instance + 1` contributes nothing.
  std::vector<WorkUnit> assignedTo(int instance) const;

  /// Human-readable plan (see PrintOptions).
  void print(std::ostream& os, const PrintOptions& options = {}) const;

 private:
  std::vector<ConnectorPlan> connectors_;
};

/// Client ID of client `index` of route `r` on connector `c` (see the header comment).
std::string clientId(const ConnectorSpec& c, const RouteSpec& r, int index);

/// Client ID of the connector's status publisher (local broker) in instance `instance`:
/// <clientIdPrefix>status-<instance>.
std::string statusClientId(const ConnectorSpec& c, int instance);

/// What a client of `r` subscribes to: "$share/<groupName>/<source>" or `source`.
std::string subscriptionOf(const RouteSpec& r);

/// Every stage a message of `route` passes through, in order, each with its parameters:
///   topic_rewrite  {target: <route target>}  (no target: the message keeps its topic)
///   qos            {qos: <route qos>}
///   rate_limit     {<the limits in force>}   (route's rateLimit, else the connector's, else none)
///   then the route's own `stages`.
/// A route's own qos or rate_limit stage written without parameters takes the same values. The
/// stages added here have the route's path and location, so their problems point at the route.
/// `connector` may be null. The result shares the route's YAML nodes: it must not outlive `route`.
std::vector<StageSpec> stageChain(const ConnectorSpec* connector, const RouteSpec& route);

}  // namespace mqb::config
