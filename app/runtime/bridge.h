#pragma once
// The running bridge: builds every route assigned to this instance from a validated
// configuration, serves metrics and probes, reloads on SIGHUP or when the configuration files
// change (routes whose configuration did not change keep running untouched), and drains on
// SIGTERM/SIGINT.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "app/commands.h"
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

/// The status client of one connector: retained "online" on connect, "offline" as its will.
class StatusPublisher;

/// The dead-letter topic publisher of one connector (app_deadletter.h).
class DeadLetterPublisher;

/// Resources from the Kubernetes API server (app_kube.h), when run with --kube.
class KubeConfigSource;

class Bridge {
 public:
  explicit Bridge(RunOptions options);
  ~Bridge();
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  /// Runs until SIGINT/SIGTERM. Returns the process exit code.
  int run();

 private:
  bool load(config::BridgeConfig& out, bool initial);
  void apply(const config::BridgeConfig& cfg);
  std::unique_ptr<RunningRoute> buildRoute(const config::ConnectorSpec& c,
                                           const config::RouteSpec& r,
                                           const std::vector<int>& clientIndices);
  void stopRoute(RunningRoute& r, std::chrono::milliseconds drain);
  /// What a route of `c` calls for each dead letter: publish it on the connector's
  /// deadLetterTopic, or nothing when there is none.
  deadletter::RouteLetters::Notify deadLetterNotify(const config::ConnectorSpec& c);
  void applyStatusPublishers(const config::BridgeConfig& cfg);
  int instanceFor(const config::ConnectorSpec& c) const;
  std::string configStamp() const;

  RunOptions options_;
  int instanceIndex_ = 0;
  std::string instanceSource_;
  std::unique_ptr<metrics::Metrics> metrics_;
  std::map<std::string, std::unique_ptr<RunningRoute>> routes_;
  std::map<std::string, std::unique_ptr<StatusPublisher>> status_;
  std::map<std::string, std::shared_ptr<DeadLetterPublisher>> deadLetterPublishers_;
  std::unique_ptr<KubeConfigSource> kube_;  ///< set in --kube mode
  std::string stamp_;
  std::mutex failedMutex_;
  std::vector<std::string> failedRoutes_;  ///< guarded by failedMutex_ (read by /readyz)
};

/// "name-3" -> 3 (a StatefulSet pod's ordinal); -1 if the name does not end in -<digits>.
int ordinalOfHostname(const std::string& hostname);

/// A stable description of everything a route's runtime depends on (used to decide, on reload,
/// whether a route must be rebuilt).
std::string routeFingerprint(const config::ConnectorSpec& c, const config::RouteSpec& r);

}  // namespace mqb::app
