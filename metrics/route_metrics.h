#pragma once
// Per-route and per-client metrics, bound once when a route is built so the hot path is a few
// relaxed atomic increments (no label lookups per message).

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "metrics/reasons.h"

namespace mqb::metrics {

/// What the bridge changed in a message to satisfy the target broker's CONNACK limits. Bounded
/// set: the `adjustment` label.
enum class Adjustment : std::uint8_t {
  QosDowngraded,   ///< published at the broker's Maximum QoS, below the message's
  RetainStripped,  ///< published without the retain flag (Retain Available 0)
  kCount
};

std::string_view toString(Adjustment a) noexcept;

/// Why a message was set aside in the dead-letter store instead of forwarded. Bounded set: the
/// `reason` label of mqbridge_deadletter_messages_total.
enum class DeadLetterReason : std::uint8_t {
  InvalidTopic,         ///< the source broker sent a topic name MQTT does not allow
  InvalidProperties,    ///< the source broker sent a property MQTT does not allow
  Refused,              ///< the target broker refused it (PUBACK reason >= 0x80)
  RepeatedDisconnects,  ///< the target dropped the connection each time it was sent alone
  TooLarge,             ///< larger than the target broker's maximum packet size
  kCount
};

std::string_view toString(DeadLetterReason r) noexcept;

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
  prometheus::Histogram* latency = nullptr;  ///< received -> target ack, seconds
  prometheus::Counter* rateLimitWaitSeconds = nullptr;
  prometheus::Gauge* lastDeliveryTimestamp = nullptr;  ///< unix seconds
  prometheus::Gauge* spoolMessages = nullptr;
  prometheus::Gauge* spoolBytes = nullptr;
  prometheus::Gauge* spoolCapacityBytes = nullptr;  ///< the spool's byte limit; 0 = unlimited
  std::array<prometheus::Counter*, static_cast<std::size_t>(Adjustment::kCount)> adjusted{};
  std::array<prometheus::Counter*, static_cast<std::size_t>(DeadLetterReason::kCount)>
      deadLettered{};

  void adjust(Adjustment a, double n = 1) noexcept {
    if (auto* c = adjusted[static_cast<std::size_t>(a)]) {
      c->Increment(n);
    }
  }
  void deadLetter(DeadLetterReason r) noexcept {
    if (auto* c = deadLettered[static_cast<std::size_t>(r)]) {
      c->Increment();
    }
  }

  void drop(DropReason r, double n = 1) noexcept {
    if (auto* c = dropped[static_cast<std::size_t>(r)]) {
      c->Increment(n);
    }
  }

  /// A message entered the route from its source: received +1, receivedBytes += bytes,
  /// inflight +1. Settle it later with exactly one onForwarded() or onDropped() (drop() alone
  /// counts the drop but leaves inflight as it is).
  void onReceived(std::size_t bytes) noexcept {
    received->Increment();
    receivedBytes->Increment(static_cast<double>(bytes));
    inflight->Increment();
  }
  /// The target acknowledged a message (QoS 0: the publish was handed to the client):
  /// forwarded +1, bytes, latency (seconds since it was received), last delivery time (unix s),
  /// inflight -1.
  void onForwarded(std::size_t bytes, double latencySeconds, double nowUnixSeconds) noexcept {
    forwarded->Increment();
    forwardedBytes->Increment(static_cast<double>(bytes));
    latency->Observe(latencySeconds);
    lastDeliveryTimestamp->Set(nowUnixSeconds);
    inflight->Decrement();
  }
  /// The message was given up for reason `r`: dropped{reason} +1, inflight -1.
  void onDropped(DropReason r) noexcept {
    drop(r);
    inflight->Decrement();
  }
};

/// Bounded set of connection failure reasons (the `reason` label of
/// mqbridge_client_connect_failures_total); every reason is pre-created at 0.
enum class ConnectFailure : std::uint8_t {
  Refused,        ///< CONNACK with a failure reason code other than the ones below
  NotAuthorized,  ///< bad credentials, not authorized, banned
  Tls,            ///< TLS handshake / certificate verification failed
  Network,        ///< TCP connect failed, DNS, connection reset, timeout
  Protocol,       ///< unsupported protocol version, malformed packet
  Subscribe,      ///< connected but SUBACK refused a subscription
  Lost,           ///< an established connection was lost
  AckTimeout,     ///< closed by the client: publishes outstanding and no acknowledgement
  Other,
  kCount
};

std::string_view toString(ConnectFailure r) noexcept;

/// Why a client is not connected: the last connect failure or connection loss, empty while it is
/// connected (for conditions people read, e.g. the pod's; metric labels stay bounded). Thread-safe;
/// written on connection changes only, never per message.
class FailureNote {
 public:
  void set(std::string text) {
    std::lock_guard<std::mutex> lock(mu_);
    text_ = std::move(text);
  }
  std::string get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }

 private:
  mutable std::mutex mu_;
  std::string text_;
};

/// Metrics of one MQTT client.
struct ClientMetrics {
  prometheus::Gauge* connected = nullptr;  ///< 0/1
  /// 0/1. Exported for subscribers only; for a publisher it points to an unexported gauge, so
  /// setting it is harmless.
  prometheus::Gauge* subscribed = nullptr;
  prometheus::Counter* connectAttempts = nullptr;
  prometheus::Counter* reconnects = nullptr;
  prometheus::Gauge* endpointIndex = nullptr;  ///< 0 = the endpoint, 1.. = failover endpoints
  /// failures by reason; reason is a bounded label chosen by the client code
  prometheus::Family<prometheus::Counter>* connectFailures = nullptr;
  // labels of this client, for connectFailures->Add(...)
  std::string_view connector, route, direction, side, client;
  /// pre-created connectFailures series, one per ConnectFailure (bound by Metrics::bindClient)
  std::array<prometheus::Counter*, static_cast<std::size_t>(ConnectFailure::kCount)> failures{};

  /// mqbridge_reauthentications_total by result: accepted, refused, no_token.
  std::array<prometheus::Counter*, 3> reauthentications{};
  /// mqbridge_credential_reloads_total by result: applied, not_applied.
  std::array<prometheus::Counter*, 2> credentialReloads{};
  FailureNote* lastFailure = nullptr;  ///< why it is not connected ("" while connected)

  void failure(ConnectFailure r) noexcept {
    if (auto* c = failures[static_cast<std::size_t>(r)]) {
      c->Increment();
    }
  }
};

}  // namespace mqb::metrics
