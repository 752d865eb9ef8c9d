#pragma once
// The MQTT source: one subscriber client per route branch. Messages are copied out of Paho's
// receive callback into pipeline::Message and pushed into the route's Ingress without blocking.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "metrics/log.h"
#include "metrics/route_metrics.h"
#include "pipeline/ingress.h"
#include "pipeline/message.h"
#include "sources/mqtt/client.h"

namespace mqb::sources {

struct SourceOptions {
  std::string filter;      ///< topic filter on the source broker
  std::string shareGroup;  ///< non-empty: subscribe to $share/<shareGroup>/<filter>
  int qos = 1;             ///< subscription QoS (the route's)
  std::size_t branch = 0;  ///< Ingress branch this client feeds
  /// Loop prevention: a message carrying user property hopMarkerKey=hopMarkerValue was published
  /// by this bridge and is not forwarded again (counted as DropReason::Loop, settled Filtered).
  /// An empty value disables the check.
  std::string hopMarkerKey = "mqbridge-hop";
  std::string hopMarkerValue;
  /// Messages the Ingress refused (route full) wait here, in order, and are retried every
  /// `overflowRetry` and on the next arrival; beyond this many they are dropped (Overflow).
  std::size_t overflowCapacity = 1024;
  std::chrono::milliseconds overflowRetry{5};
};

/// One subscriber. Thread-safe; start()/stop() from one control thread.
class MqttSource final : private ClientListener {
 public:
  /// `ingress` must outlive the source. Metrics and `tracker` may be null; with a tracker each
  /// message carries a Completion (token = per-source sequence number).
  MqttSource(ClientOptions client, SourceOptions options, pipeline::Ingress& ingress,
             metrics::RouteMetrics* routeMetrics = nullptr,
             metrics::ClientMetrics* clientMetrics = nullptr,
             pipeline::DeliveryTracker* tracker = nullptr, Timer* timer = nullptr);
  ~MqttSource() override;
  MqttSource(const MqttSource&) = delete;
  MqttSource& operator=(const MqttSource&) = delete;

  /// Starts connecting; the subscription follows every (re)connect. False if the client cannot be
  /// created at all.
  bool start();
  /// Disconnects; messages still in the overflow are settled Dropped (DropReason::Shutdown).
  void stop();
  /// Connected and the subscription acknowledged.
  bool ready() const noexcept;
  /// What is subscribed: the filter or $share/<group>/<filter>.
  const std::string& subscription() const noexcept { return subscription_; }
  const Client& client() const noexcept { return client_; }
  std::size_t overflowSizeForTest() const;

 private:
  void onConnected(const ConnectInfo& info) noexcept override;
  void onConnectionLost() noexcept override;
  void onMessage(char* topic, int topicLen, MQTTAsync_message* message) noexcept override;

  static void onSubscribed5(void* ctx, MQTTAsync_successData5* r);
  static void onSubscribeFailed5(void* ctx, MQTTAsync_failureData5* r);
  static void onSubscribed3(void* ctx, MQTTAsync_successData* r);
  static void onSubscribeFailed3(void* ctx, MQTTAsync_failureData* r);

  void subscribe();
  void subscribeFailed(const std::string& reason);
  /// Pushes as much of the overflow as the Ingress takes. Caller holds mu_.
  void drainLocked();
  /// The seam for issue 5's disk spool: a message the route cannot take right now. Caller holds
  /// mu_. Returns false when it had to be dropped.
  bool spillLocked(pipeline::Message&& msg);
  void scheduleRetryLocked();

  SourceOptions options_;
  pipeline::Ingress& ingress_;
  metrics::RouteMetrics* routeMetrics_;
  pipeline::DeliveryTracker* tracker_;
  Timer* timer_;
  std::string subscription_;
  Client client_;

  std::atomic<bool> subscribed_{false};
  std::atomic<std::uint64_t> nextToken_{1};

  mutable std::mutex mu_;
  std::deque<pipeline::Message> overflow_;
  Timer::Id retryTimer_ = 0;
  Timer::Id subscribeTimer_ = 0;
  bool stopping_ = false;
  log::Every overflowLog_{std::chrono::seconds(5)};
};

/// Copies Paho's v5 properties into the pipeline's form, dropping per-hop ones (subscription
/// identifier, topic alias).
pipeline::Properties fromPaho(const MQTTProperties& props);

}  // namespace mqb::sources
