#pragma once
// One route as this instance runs it: built from the configuration (the graph with its stages and
// one publisher per branch, one subscriber and one spool per assigned branch, the dead-letter
// store), stopped with a drain.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "config/model.h"
#include "deadletter/route_letters.h"
#include "metrics/metrics.h"
#include "pipeline/graph_builder.h"
#include "sinks/mqtt/mqtt_sink.h"
#include "sources/mqtt/mqtt_source.h"

namespace mqb::app {

/// One route as it runs in this instance: its own copies of the configuration (the graph and the
/// clients point into them), the graph, one subscriber per assigned branch.
struct RunningRoute {
  std::string key;          ///< "<connector>/<route>"
  std::string fingerprint;  ///< everything the route's behaviour depends on
  std::unique_ptr<config::ConnectorSpec> connector;
  std::unique_ptr<config::RouteSpec> route;
  std::unique_ptr<pipeline::RouteGraph> graph;
  std::vector<std::unique_ptr<sources::MqttSource>> sources;
  std::vector<sinks::MqttSink*> sinks;  ///< owned by the graph
};

/// What building a route needs from the bridge around it.
struct RouteEnv {
  std::string stateDir;  ///< spools and dead letters live below it
  metrics::Metrics* metrics = nullptr;
  /// The connector's dead-letter topic publisher (null: none).
  deadletter::RouteLetters::Notify deadLetterNotify;
};

/// Builds and starts route `r` of connector `c` with the branches (client indices) this instance
/// serves. Null (logged) if its graph, a spool or the dead-letter store cannot be built.
std::unique_ptr<RunningRoute> buildRoute(const RouteEnv& env, const config::ConnectorSpec& c,
                                         const config::RouteSpec& r,
                                         const std::vector<int>& clientIndices);

/// The fingerprint buildRoute gives a route served with `clientIndices`: config::routeFingerprint
/// and the branches (a reload rebuilds a route whose fingerprint changed).
std::string routeKeyFingerprint(const config::ConnectorSpec& c, const config::RouteSpec& r,
                                const std::vector<int>& clientIndices);

/// Stops taking messages, gives those in flight `drain` to be delivered, stops the route.
void stopRoute(RunningRoute& r, std::chrono::milliseconds drain);

/// Before routes leave this instance (moved to another, removed, or the process stops): stops
/// their subscribers, then waits until `deadline` for their spools to empty into the targets,
/// since a spool stays with the instance while the route's clients go elsewhere. True if every
/// spool emptied.
bool drainSpools(const std::vector<RunningRoute*>& routes,
                 std::chrono::steady_clock::time_point deadline);

}  // namespace mqb::app
