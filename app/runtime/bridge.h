#pragma once
// The running bridge: builds every route assigned to this instance from a validated
// configuration, serves metrics and probes, reloads on SIGHUP or when the configuration changes
// (routes whose configuration did not change keep running untouched; an invalid new
// configuration is rejected and the old one keeps running), and drains on SIGTERM/SIGINT.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "app/runtime/config_source.h"
#include "app/runtime/options.h"
#include "app/runtime/pod_conditions.h"
#include "app/runtime/route.h"
#include "app/runtime/status_publisher.h"
#include "config/model.h"
#include "deadletter/route_letters.h"
#include "metrics/http_server.h"
#include "metrics/metrics.h"

namespace mqb::app {

class DeadLetterPublisher;

class Bridge {
 public:
  explicit Bridge(RunOptions options);
  ~Bridge();
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  /// Runs until SIGINT/SIGTERM. Returns the process exit code.
  int run();

 private:
  /// Loads the configuration and prepares logging, the instance index, metrics and probes.
  /// 0 to go on, else the exit code.
  int setUp(config::BridgeConfig& cfg);
  /// Reloads as the configuration changes until SIGINT/SIGTERM (`signals` blocked in every
  /// thread).
  void mainLoop(config::BridgeConfig& cfg, const sigset_t& signals);
  /// Stops taking messages on every route first, then drains and stops each.
  void shutDown();
  /// Builds what this instance should run and is not running, stops what changed or went.
  void apply(const config::BridgeConfig& cfg);
  /// What a route of `c` calls for each dead letter: publish it on the connector's
  /// deadLetterTopic, or nothing when there is none.
  deadletter::RouteLetters::Notify deadLetterNotify(const config::ConnectorSpec& c);
  int instanceFor(const config::ConnectorSpec& c) const;
  std::chrono::milliseconds drain() const;

  RunOptions options_;
  ConfigSource source_;
  int instanceIndex_ = 0;
  std::unique_ptr<metrics::Metrics> metrics_;
  metrics::Watchdog watchdog_;  ///< before http_: its health check reads it
  std::unique_ptr<metrics::HttpServer> http_;
  std::map<std::string, std::unique_ptr<RunningRoute>> routes_;
  StatusPublishers status_;
  std::map<std::string, std::shared_ptr<DeadLetterPublisher>> deadLetterPublishers_;
  std::mutex failedMutex_;
  std::vector<std::string> failedRoutes_;  ///< guarded by failedMutex_ (read by /readyz)
  std::unique_ptr<PodConditionReporter> podConditions_;  ///< Kubernetes mode with a pod name
};

}  // namespace mqb::app
