#pragma once
// The bridge's Prometheus metrics: one registry, every metric family, and the per-route /
// per-client bindings that the hot path keeps as cached pointers.
//
// Names follow the Prometheus conventions: prefix mqbridge_, counters end in _total, base units
// _seconds and _bytes. Labels are bounded (connector, route, direction, branch, side, client,
// reason): never a topic or another value chosen by an MQTT client.
//
//   metrics::Metrics m{kVersion, kGitRevision};
//   metrics::RouteMetrics& rm = m.bindRoute("edge", "telemetry", "local_to_remote", "0");
//   rm.onReceived(bytes);  ...  rm.onForwarded(bytes, latencySeconds, nowUnix);

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "metrics/route_metrics.h"

namespace mqb::metrics {

/// Values of the `direction` label.
inline constexpr std::string_view kLocalToRemote = "local_to_remote";
inline constexpr std::string_view kRemoteToLocal = "remote_to_local";

/// Result of a readiness check: ready when `notReady` is empty. Each entry names one thing that is
/// not ready, e.g. "client connector=edge route=t direction=local_to_remote side=remote
/// client=pub-0 not connected".
struct Readiness {
  std::vector<std::string> notReady;
  bool ready() const noexcept { return notReady.empty(); }
};

/// The clients of one side ("local" or "remote") of one connector, as readiness sees them.
struct SideConnectivity {
  std::string connector, side;
  int clients = 0;
  int connected = 0;
  std::string failure;  ///< the last failure of a client that is not connected ("" if none)
};

/// Owns the registry and every family. Thread-safe. bindRoute/bindClient lock and allocate: call
/// them when a route is built, never per message. The returned references stay valid until
/// unbindRoute() for the same route or the Metrics object is destroyed.
class Metrics {
 public:
  /// `version`, `revision`: values of mqbridge_build_info{version,revision} (always 1).
  Metrics(std::string_view version, std::string_view revision);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  /// The registry to expose (HttpServer serves it on /metrics).
  const std::shared_ptr<prometheus::Registry>& registry() const noexcept { return registry_; }

  /// Metrics of one branch of a route (branch: "0".."N-1" for N shared-subscription branches).
  /// `direction` is kLocalToRemote or kRemoteToLocal. Same labels -> same object. Every
  /// DropReason series is created at 0. The spool gauges are per route (no branch label): all
  /// branches of one route share them.
  RouteMetrics& bindRoute(std::string_view connector, std::string_view route,
                          std::string_view direction, std::string_view branch);

  /// Metrics of one MQTT client. `side`: "local" or "remote". `client`: a stable name derived from
  /// the configuration (e.g. "sub-0", "pub-1"), not a generated MQTT client id. `subscriber`:
  /// whether mqbridge_client_subscribed is exported for it and readiness() requires it to be 1.
  /// Same labels -> same object (binding again with subscriber=true upgrades a publisher).
  /// Every ConnectFailure series is created at 0.
  ClientMetrics& bindClient(std::string_view connector, std::string_view route,
                            std::string_view direction, std::string_view side,
                            std::string_view client, bool subscriber);

  /// Removes every series of (connector, route) (all directions, branches and clients). Only call
  /// once nothing uses the RouteMetrics/ClientMetrics of that route any more (after a reload
  /// destroyed its graph and clients): their pointers dangle afterwards.
  void unbindRoute(std::string_view connector, std::string_view route);

  /// Records a configuration load/reload. Generation counts successful loads (1 after the first).
  void recordReload(bool success,
                    std::chrono::system_clock::time_point at = std::chrono::system_clock::now());

  /// Not ready while no route was bound yet unless `allowEmpty`, and while any bound client is not
  /// connected (subscribers: not subscribed). Reads atomics only; cheap enough for a probe.
  Readiness readiness(bool allowEmpty = false) const;

  /// Per connector and side (ordered), how many bound clients there are and are connected, and
  /// why one that is not connected failed last.
  std::vector<SideConnectivity> connectivity() const;

  /// Latency histogram buckets (seconds): 100 µs .. 30 s in 1-2.5-5 steps.
  static const prometheus::Histogram::BucketBoundaries& latencyBuckets();

 private:
  using RouteKey = std::tuple<std::string, std::string, std::string, std::string>;
  using ClientKey = std::tuple<std::string, std::string, std::string, std::string, std::string>;
  using SpoolKey = std::tuple<std::string, std::string, std::string>;
  struct ClientEntry {
    std::string connector, route, direction, side, client;
    bool subscriber = false;
    prometheus::Gauge unexported;  // `subscribed` of a publisher
    FailureNote failure;
    ClientMetrics m;
  };
  struct SpoolEntry {
    prometheus::Gauge* messages = nullptr;
    prometheus::Gauge* bytes = nullptr;
    prometheus::Gauge* capacity = nullptr;
  };

  std::shared_ptr<prometheus::Registry> registry_;
  // route / branch
  prometheus::Family<prometheus::Counter>& received_;
  prometheus::Family<prometheus::Counter>& receivedBytes_;
  prometheus::Family<prometheus::Counter>& forwarded_;
  prometheus::Family<prometheus::Counter>& forwardedBytes_;
  prometheus::Family<prometheus::Counter>& dropped_;
  prometheus::Family<prometheus::Counter>& retried_;
  prometheus::Family<prometheus::Counter>& adjusted_;
  prometheus::Family<prometheus::Counter>& deadLettered_;
  prometheus::Family<prometheus::Gauge>& inflight_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Family<prometheus::Counter>& rateLimitWait_;
  prometheus::Family<prometheus::Gauge>& lastDelivery_;
  prometheus::Family<prometheus::Gauge>& spoolMessages_;
  prometheus::Family<prometheus::Gauge>& spoolBytes_;
  prometheus::Family<prometheus::Gauge>& spoolCapacity_;
  // client
  prometheus::Family<prometheus::Gauge>& connected_;
  prometheus::Family<prometheus::Gauge>& subscribed_;
  prometheus::Family<prometheus::Counter>& connectAttempts_;
  prometheus::Family<prometheus::Counter>& connectFailures_;
  prometheus::Family<prometheus::Counter>& reconnects_;
  prometheus::Family<prometheus::Counter>& reauthentications_;
  prometheus::Family<prometheus::Counter>& credentialReloads_;
  prometheus::Family<prometheus::Gauge>& endpointIndex_;
  // process
  prometheus::Family<prometheus::Gauge>& buildInfo_;
  prometheus::Family<prometheus::Counter>& reloads_;
  prometheus::Family<prometheus::Gauge>& lastReloadSuccessful_;
  prometheus::Family<prometheus::Gauge>& lastReloadSuccessTime_;
  prometheus::Family<prometheus::Gauge>& generation_;
  prometheus::Counter* reloadsOk_ = nullptr;
  prometheus::Counter* reloadsFailed_ = nullptr;
  prometheus::Gauge* lastReloadOk_ = nullptr;
  prometheus::Gauge* lastReloadOkTime_ = nullptr;
  prometheus::Gauge* generationValue_ = nullptr;

  mutable std::mutex mutex_;
  std::map<RouteKey, std::unique_ptr<RouteMetrics>> routes_;
  std::map<ClientKey, std::unique_ptr<ClientEntry>> clients_;
  std::map<SpoolKey, SpoolEntry> spools_;
};

}  // namespace mqb::metrics
