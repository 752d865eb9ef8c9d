#pragma once
// A route without the graph builder, for MQTT-layer integration tests: MqttSource(s) ->
// ForwardingIngress (topic rewrite: static target or same topic) -> MqttSink(s), one sink per
// shared-subscription branch, with TestMetrics (tests/support/test_metrics.h).

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "metrics/route_metrics.h"
#include "pipeline/ingress.h"
#include "pipeline/sink.h"
#include "sinks/mqtt/mqtt_sink.h"
#include "sources/mqtt/mqtt_source.h"
#include "tests/support/test_metrics.h"

namespace mqb::test {

/// Hands each batch straight to the branch's sink (on the caller's thread: Paho's receive
/// thread), after rewriting topics. Admits at most `capacity` messages not yet released.
class ForwardingIngress final : public pipeline::Ingress {
 public:
  ForwardingIngress(std::vector<pipeline::Sink*> sinks,
                    std::function<std::string(const std::string&)> rewrite, std::size_t capacity);
  std::size_t branches() const noexcept override { return sinks_.size(); }
  bool tryPush(std::size_t branch, pipeline::Batch& batch) noexcept override;
  std::size_t inflight() const noexcept override { return inflight_.load(); }
  std::size_t capacity() const noexcept override { return capacity_; }
  /// Refuse everything while set (to test the source's overflow).
  void setBlocked(bool blocked) noexcept { blocked_.store(blocked); }
  /// Stamp Message::notBefore = now + delay on every message (what a rate limiter does).
  void setNotBeforeDelay(std::chrono::milliseconds delay) noexcept {
    delayMs_.store(delay.count());
  }
  void release(std::size_t n) noexcept { inflight_.fetch_sub(n); }

 private:
  std::vector<pipeline::Sink*> sinks_;
  std::function<std::string(const std::string&)> rewrite_;
  std::size_t capacity_;
  std::atomic<std::size_t> inflight_{0};
  std::atomic<bool> blocked_{false};
  std::atomic<long long> delayMs_{0};
  std::vector<std::uint64_t> seq_;
};

struct DirectRouteOptions {
  mqtt::ClientOptions source;  ///< clientId gets "-<i>" appended per branch when branches > 1
  mqtt::ClientOptions target;  ///< likewise
  sources::SourceOptions sourceOptions;
  sinks::SinkOptions sinkOptions;
  std::optional<std::string> targetTopic;  ///< static target; nullopt = same topic
  int branches = 1;                        ///< shared subscription clients (needs shareGroup)
  std::size_t capacity = 1000;
  const pipeline::Clock* clock = nullptr;  ///< for the sinks (expiry); null = system clock
};

class DirectRoute {
 public:
  explicit DirectRoute(DirectRouteOptions options);
  ~DirectRoute();
  void start();
  void stop();
  /// Every source subscribed and every sink connected.
  bool waitReady(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  TestMetrics& metrics() { return metrics_; }
  std::vector<std::unique_ptr<sources::MqttSource>>& sources() { return sources_; }
  std::vector<std::unique_ptr<sinks::MqttSink>>& sinks() { return sinks_; }
  ForwardingIngress& ingress() { return *ingress_; }

 private:
  TestMetrics metrics_;
  std::vector<std::unique_ptr<sinks::MqttSink>> sinks_;
  std::unique_ptr<ForwardingIngress> ingress_;
  std::vector<std::unique_ptr<sources::MqttSource>> sources_;
  bool stopped_ = false;
};

}  // namespace mqb::test
