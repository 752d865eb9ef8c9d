#pragma once
// Per-route and per-client metrics, bound once when a route is built so the hot path is a few
// relaxed atomic increments (no label lookups per message).

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mqb::metrics {

/// Why a message was not forwarded. Bounded set: used as the `reason` label.
enum class DropReason : std::uint8_t {
  Expired,           ///< v5 message expiry or route ttl passed
  Loop,              ///< carried this bridge's hop marker
  Overflow,          ///< route full and policy drops
  Template,          ///< target template could not be resolved for the topic
  Rejected,          ///< target broker refused it (PUBACK reason >= 0x80, packet too large...)
  Qos0Disconnected,  ///< QoS 0 while the target was unreachable
  Filtered,          ///< a filter stage chose not to forward it
  StageError,        ///< a stage failed on the message (e.g. bad JSON) and drops on error
  Shutdown,          ///< the bridge stopped before the message could be delivered (QoS 0)
  kCount
};

std::string_view toString(DropReason r) noexcept;

/// Metrics of one route branch (one subscriber/publisher client pair). All pointers are owned by
/// the registry's families and stay valid for the registry's lifetime. Thread-safe.
struct RouteMetrics {
  prometheus::Counter* received = nullptr;
  prometheus::Counter* receivedBytes = nullptr;
  prometheus::Counter* forwarded = nullptr;  ///< acknowledged by the target
  prometheus::Counter* forwardedBytes = nullptr;
  prometheus::Counter* retried = nullptr;
  std::array<prometheus::Counter*, static_cast<std::size_t>(DropReason::kCount)> dropped{};
  prometheus::Gauge* inflight = nullptr;
  prometheus::Histogram* latency = nullptr;           ///< received -> target ack, seconds
  prometheus::Counter* rateLimitWaitSeconds = nullptr;
  prometheus::Gauge* lastDeliveryTimestamp = nullptr;  ///< unix seconds
  prometheus::Gauge* spoolMessages = nullptr;
  prometheus::Gauge* spoolBytes = nullptr;

  void drop(DropReason r, double n = 1) noexcept {
    if (auto* c = dropped[static_cast<std::size_t>(r)]) {
      c->Increment(n);
    }
  }
};

/// Metrics of one MQTT client.
struct ClientMetrics {
  prometheus::Gauge* connected = nullptr;  ///< 0/1
  prometheus::Gauge* subscribed = nullptr;  ///< 0/1 (subscribers only)
  prometheus::Counter* connectAttempts = nullptr;
  prometheus::Counter* reconnects = nullptr;
  /// failures by reason; reason is a bounded label chosen by the client code
  prometheus::Family<prometheus::Counter>* connectFailures = nullptr;
  // labels of this client, for connectFailures->Add(...)
  std::string_view connector, route, direction, side, client;
};

}  // namespace mqb::metrics
