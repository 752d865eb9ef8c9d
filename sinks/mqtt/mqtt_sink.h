#pragma once
// The MQTT sink: one publisher client per route branch, with its own bounded QoS 1 window (at most
// the broker's Receive Maximum), rate-limit wake-ups on a timer, and exact forwarding of payload,
// retain flag and v5 properties.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/timer.h"
#include "config/model.h"
#include "deadletter/route_letters.h"
#include "metrics/client_observer.h"
#include "metrics/route_metrics.h"
#include "mqtt/client.h"
#include "pipeline/clock.h"
#include "pipeline/sink.h"

namespace mqb::sinks {

struct SinkOptions {
  /// QoS 1 messages awaiting PUBACK; the effective window is min(this, CONNACK Receive Maximum),
  /// so the target broker's flow control is what normally decides (mosquitto: 20 by default).
  int maxInflight = 1000;
  /// `never` strips the retain flag (for remotes that reject retained messages).
  config::RetainPolicy retain = config::RetainPolicy::Keep;
  /// v5 only: every published message carries user property hopMarkerKey=hopMarkerValue (the
  /// connector name), so the opposite route's source recognises it. Empty value: no marker.
  std::string hopMarkerKey = "mqbridge-hop";
  std::string hopMarkerValue;
  /// Where a message the target refuses, or drops the connection over, is set aside (shared by
  /// the route's branches). Null: such a message is dropped (counted `rejected`, logged).
  std::shared_ptr<deadletter::RouteLetters> deadLetters;
};

/// Publishes one branch's messages. Implements pipeline::Sink (see its contract): write() never
/// blocks on the network; each message is settled exactly once (Delivered on PUBACK, or for QoS 0
/// once handed to the connection; Dropped with a counted reason otherwise) and then released.
/// While disconnected, QoS 1 messages wait (nothing lost; re-sent after reconnect, so duplicates
/// are possible) and QoS 0 messages are dropped (DropReason::Qos0Disconnected).
///
/// No single message can stop the branch: one the target refuses (PUBACK reason >= 0x80; one
/// refused with quota exceeded is sent again after 1, 2, 4 ... 30 s, ten sends in all, holding
/// the messages behind it meanwhile) or that is larger than the target accepts
/// is set aside in the dead-letter store at once. One in flight each time the target drops the
/// connection (without saying it is shutting down, taking the session over, or the like) is
/// suspect: after kProbeAfter such losses it is sent alone, and after kDeadLetterAfter it is set
/// aside too (DeadLetterReason::RepeatedDisconnects), so that the messages behind it flow again.
/// The target's Maximum QoS and Retain Available are honoured (counted adjustments).
class MqttSink final : public pipeline::Sink, private mqtt::ClientListener {
 public:
  /// The client always uses a clean session (ClientOptions::persistentSession is forced off): the
  /// sink keeps unacknowledged messages itself and re-sends them after a reconnect.
  /// Metrics may be null.
  MqttSink(mqtt::ClientOptions client, SinkOptions options,
           metrics::RouteMetrics* routeMetrics = nullptr,
           metrics::ClientMetrics* clientMetrics = nullptr, const pipeline::Clock* clock = nullptr,
           common::Timer* timer = nullptr);
  ~MqttSink() override;
  MqttSink(const MqttSink&) = delete;
  MqttSink& operator=(const MqttSink&) = delete;

  void setRelease(pipeline::ReleaseFn release) override;
  void write(pipeline::Batch&& batch) noexcept override;
  void start() override;
  /// stop(0): the graph gave the sink its drain time before it calls this (pipeline::Sink).
  void stop() override;
  /// Stops accepting, waits up to `deadline` for everything held to be acknowledged, disconnects,
  /// then settles what is left as Dropped (DropReason::Shutdown) and releases it.
  void stop(std::chrono::milliseconds deadline);

  /// Connected to the target broker.
  bool ready() const noexcept { return client_.connected(); }
  const mqtt::Client& client() const noexcept { return client_; }
  /// Messages held (queued, awaiting PUBACK, or waiting to be re-sent).
  std::size_t heldForTest() const;
  /// Largest number of QoS 1 messages ever awaiting PUBACK at once.
  std::size_t maxOutstandingForTest() const;

 private:
  /// Why a message is set aside in the dead-letter store (rare: kept out of Done's size).
  struct Letter {
    metrics::DeadLetterReason reason;
    std::string detail;
  };
  struct Done {
    pipeline::Message msg;
    pipeline::Outcome outcome;
    metrics::DropReason reason;
    /// Set: finish() stores the message in the dead-letter store (outside the lock).
    std::unique_ptr<Letter> letter = nullptr;
  };

  void onConnected(const mqtt::ConnectInfo& info) noexcept override;
  void onConnectionLost(const mqtt::Failure& why) noexcept override;
  void onWritable() noexcept override;
  void onPublishedBatch(
      std::vector<std::pair<std::uint64_t, std::uint8_t>>& results) noexcept override;

  /// The message pump() publishes next, with what it decided about it.
  struct Head {
    std::uint64_t seq = 0;
    pipeline::Message msg;
    std::uint8_t qos = 0;  ///< as published: capped by the broker's Maximum QoS
    bool probe = false;    ///< goes alone: a suspect of connection losses
  };

  /// Publishes what may go now: retries first, then the queue, within the window; QoS 0 while
  /// disconnected is dropped. Flushes once at the end; settles outside mu_.
  void pump() noexcept;
  /// Takes the next message into `h` (mu_ held); false when none may go now.
  bool takeHeadLocked(pipeline::SteadyTime now, Head& h);
  /// Publishes `h` (mu_ held): expiry, size limit, retain policy, hop marker. False when pump()
  /// must stop (output busy, not connected, no packet identifier).
  bool publishLocked(Head& h, pipeline::SteadyTime now, std::vector<Done>& done, bool& sent);
  /// Where `h` goes after the client's answer `rc`; false when pump() must stop.
  bool settleSendLocked(mqtt::Client::Send rc, Head& h, pipeline::SteadyTime now,
                        std::vector<Done>& done);
  /// Applies the broker's answer to an outstanding message; caller holds mu_.
  void resolveLocked(std::uint64_t seq, pipeline::Message&& msg, std::uint8_t reasonCode,
                     std::vector<Done>& done);
  /// Is a connection lost for `why` possibly the doing of a message in flight?
  static bool suspicious(const mqtt::Failure& why) noexcept;
  void finish(std::vector<Done>& done) noexcept;
  void wakeAtLocked(pipeline::SteadyTime at);

  SinkOptions options_;
  pipeline::UserProperty marker_;  // hop marker (value empty: none)
  metrics::RouteMetrics* metrics_;
  const pipeline::Clock* clock_;
  common::Timer* timer_;
  metrics::ClientMetricsObserver observer_;
  mqtt::Client client_;
  pipeline::ReleaseFn release_;

  // Everything below is guarded by mu_. pump() publishes while holding it (the client never calls
  // back into the sink while holding its own lock, so the order sink -> client is safe).
  mutable std::mutex mu_;
  std::condition_variable idleCv_;
  std::deque<pipeline::Message> queue_;               // not yet sent, in order
  std::map<std::uint64_t, pipeline::Message> retry_;  // sent once, to be re-sent, by send order
  std::unordered_map<std::uint64_t, pipeline::Message> outstanding_;  // awaiting PUBACK, by seq
  std::unordered_set<std::uint64_t> sentBefore_;  // in retry_ after a lost connection: send DUP
  std::uint64_t nextSeq_ = 1;
  std::size_t window_ = 1;
  std::size_t maxOutstanding_ = 0;
  std::uint32_t maxPacket_ = 0;
  std::uint8_t maxQos_ = 2;      // the broker's Maximum QoS
  bool retainAvailable_ = true;  // the broker's Retain Available
  bool connected_ = false;
  bool stopping_ = false;
  bool closed_ = false;  // stop() is tearing the client down: no more sends
  std::set<common::Timer::Id> timers_;
  // Messages in flight at connection losses the target may have caused, by seq: how many such
  // losses each lived through, and whether the last one happened while it was alone in flight.
  std::unordered_map<std::uint64_t, std::uint8_t> losses_;
  std::uint64_t probeSeq_ = 0;  // a suspect sent alone: nothing else goes until it is answered
  std::unordered_map<std::uint64_t, std::uint8_t> quotaRefusals_;  // 0x97 answers, by seq
  static constexpr std::uint8_t kProbeAfter = 2;
  static constexpr std::uint8_t kDeadLetterAfter = 3;
  static constexpr std::uint8_t kQuotaRetries = 10;
  pipeline::SteadyTime wakeAt_{};
  std::chrono::steady_clock::time_point lastAcks_{};  // the previous read that brought PUBACKs
  // How long the client's I/O thread may sleep between reads of acknowledgements (see
  // onPublishedBatch()): while the window is full and backlogged (a window of 100 still allows
  // 100k msg/s, and the pause ends as soon as a quarter of the window comes back per read), and
  // while they come back one or two at a time less than kSteadyAcks apart with more in flight.
  static constexpr std::chrono::microseconds kPace{1000};
  static constexpr std::chrono::microseconds kSteadyAcks{2000};
};

/// The hop marker to add to a message's properties: `marker`, or null when it has no value or the
/// message already carries it (forwarding again never stacks a second marker).
const pipeline::UserProperty* markerFor(const pipeline::Properties& props,
                                        const pipeline::UserProperty& marker) noexcept;

}  // namespace mqb::sinks
