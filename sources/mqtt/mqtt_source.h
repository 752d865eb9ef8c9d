#pragma once
// The MQTT source: one subscriber client per route branch. Messages decoded by the client's I/O
// thread are pushed into the route's Ingress (or appended to the spool) without blocking.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/timer.h"
#include "deadletter/route_letters.h"
#include "metrics/client_observer.h"
#include "metrics/route_metrics.h"
#include "mqtt/client.h"
#include "pipeline/ingress.h"
#include "pipeline/message.h"
#include "spool/spool.h"

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

  /// Durable path. When set, every message that passes the loop check is appended to
  /// this spool inside the receive callback (write(2) before the callback returns, and the client
  /// sends the PUBACK only after it returns: an acknowledged message is on disk), and a feeder
  /// thread of this source reads the spool in order (replay of what a previous run left first) and
  /// pushes it into the ingress. A record is acked in the spool when its message settles Delivered,
  /// Filtered or Spooled, or Dropped (a counted, final reason) while the source runs; a message
  /// dropped while stopping (DropReason::Shutdown) stays in the spool for the next run.
  std::shared_ptr<spool::Spool> spool;
  /// Backpressure for OverflowPolicy::Block (the spool itself is opened without limits): the spool
  /// never holds more than this many messages / bytes (0 = no limit). The subscriber announces a
  /// Receive Maximum of a quarter of the message limit (at most 1024); once the spool reaches the
  /// limit minus that headroom (minus a quarter, for bytes) it stops reading and disconnects (its
  /// persistent session makes the broker queue), and reconnects once the spool is below
  /// `resumeFraction` of both limits.
  std::uint64_t pauseMessages = 0;
  std::uint64_t pauseBytes = 0;
  double resumeFraction = 0.5;
  /// Most records the feeder pushes per batch.
  std::size_t feedBatch = 256;
  /// Where a PUBLISH whose topic or properties MQTT does not allow is set aside (acknowledged,
  /// never forwarded). Null: it is dropped (counted `rejected`, logged).
  std::shared_ptr<deadletter::RouteLetters> deadLetters;
};

/// One subscriber. Thread-safe; start()/stop() from one control thread.
class MqttSource final : private mqtt::ClientListener, private pipeline::DeliveryTracker {
 public:
  /// `ingress` must outlive the source. Metrics and `tracker` may be null; with a tracker each
  /// message carries a Completion (token = per-source sequence number).
  MqttSource(mqtt::ClientOptions client, SourceOptions options, pipeline::Ingress& ingress,
             metrics::RouteMetrics* routeMetrics = nullptr,
             metrics::ClientMetrics* clientMetrics = nullptr,
             pipeline::DeliveryTracker* tracker = nullptr, common::Timer* timer = nullptr);
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
  const mqtt::Client& client() const noexcept { return client_; }
  /// For requests on the subscriber's connection (the runtime unsubscribes a stale filter).
  mqtt::Client& client() noexcept { return client_; }
  std::size_t overflowSizeForTest() const;
  /// Messages this client received (before loop checks); e.g. to see shared-subscription spread.
  std::uint64_t receivedCount() const noexcept { return receivedCount_.load(); }
  /// With a spool: the subscriber is disconnected for backpressure (spool over its limits).
  bool paused() const noexcept { return paused_.load(std::memory_order_acquire); }
  /// Stops the subscriber and the feeder and waits up to `drain` for every message the feeder
  /// pushed to settle (their spool records are acked as they do). Used before the route's graph
  /// is stopped; stop() follows. Without a spool, the same as stop().
  void stopFeeding();
  /// Stops the subscriber only (the broker queues for the persistent session from now on); the
  /// feeder keeps pushing what the spool holds, so the spool empties into the target. Used
  /// before a route leaves this instance: its spool stays here, its client goes elsewhere.
  void stopSubscribing();
  /// Nothing unacknowledged in the spool (true without a spool).
  bool spoolEmpty() const noexcept;

 private:
  void onConnected(const mqtt::ConnectInfo& info) noexcept override;
  void onConnectionLost(const mqtt::Failure& why) noexcept override;
  void onMessages(std::vector<mqtt::Message>& batch) noexcept override;
  void onRefused(mqtt::Message&& message, mqtt::Refusal why,
                 const std::string& detail) noexcept override;
  /// Counts a received message, gives it its completion and applies the loop check; false when
  /// it was filtered (settled already).
  bool admit(pipeline::Message& msg) noexcept;
  /// Spool path: appends the batch; returns how many the spool took (the rest goes direct).
  std::size_t spoolBatch(std::vector<pipeline::Message>& batch) noexcept;
  /// spoolIds_[0, n) are consecutive ids (nothing refused).
  bool contiguousIds(std::size_t n) const noexcept;
  /// Tells the feeder thread that records wait in the spool (or a pause was requested).
  void wakeFeeder() noexcept;
  /// The route has room for a feeder batch (half its capacity at most).
  bool roomForBatch() const noexcept;
  /// Pushes into the ingress (or the overflow), in order.
  void pushDirect(std::vector<pipeline::Message>& batch) noexcept;

  void subscribe();
  void setSubscribed(bool on) noexcept;
  void subscribeFailed(const std::string& reason);
  /// Pushes as much of the overflow as the Ingress takes (without holding mu_).
  void drain();
  /// A message the route cannot take right now (no spool): kept in the overflow, or dropped when
  /// that is full. Caller holds mu_. Returns false when it had to be dropped.
  bool spillLocked(pipeline::Message&& msg);
  void scheduleRetryLocked();
  void feederLoop() noexcept;
  enum class Feed { Pushed, Empty, Full };
  /// Pushes feedPending_ (the batch the route refused last time, or what the I/O thread just
  /// appended and claimed), else reads the next records of the spool and pushes them. Caller holds
  /// feedPushMu_: the feeder thread, or the I/O thread right after it spooled a batch.
  Feed feedOnceLocked() noexcept;
  /// The Receive Maximum the subscriber announces under a spool message limit (a quarter of it,
  /// at most 1024): the headroom between the pause threshold and the limit.
  static std::uint16_t receiveMaximumFor(std::uint64_t pauseMessages) noexcept;
  /// The spool holds enough to pause the subscriber (limit minus headroom).
  bool overPauseLimits() const noexcept;
  void updateSpoolGauges() noexcept;
  void settle(std::uint64_t token, pipeline::Outcome outcome) noexcept override;

  SourceOptions options_;
  pipeline::Ingress& ingress_;
  metrics::RouteMetrics* routeMetrics_;
  metrics::ClientMetrics* clientMetrics_;
  pipeline::DeliveryTracker* tracker_;
  common::Timer* timer_;
  std::string subscription_;
  metrics::ClientMetricsObserver observer_;
  mqtt::Client client_;
  std::vector<pipeline::Message> converted_;  // I/O thread only: onMessages()'s batch

  std::atomic<bool> subscribed_{false};
  std::atomic<std::uint64_t> nextToken_{1};
  std::atomic<std::uint64_t> receivedCount_{0};

  mutable std::mutex mu_;
  std::deque<pipeline::Message> overflow_;
  common::Timer::Id retryTimer_ = 0;
  common::Timer::Id subscribeTimer_ = 0;
  bool stopping_ = false;
  bool pushing_ = false;  // a tryPush is in progress (keeps order without holding mu_)
  log::Every overflowLog_{std::chrono::seconds(5)};

  // Spool path (options_.spool set).
  std::thread feeder_;
  std::mutex feedMu_;
  std::condition_variable feedCv_;        // a settle freed room in the route
  std::condition_variable dataCv_;        // the I/O thread left records for the feeder
  bool feedStop_ = false;                 // guarded by feedMu_
  bool dataSignal_ = false;               // guarded by feedMu_
  std::atomic<bool> feederFull_{false};   // the feeder waits for room in the route
  std::atomic<bool> settleFinal_{false};  // stopping: Dropped no longer acks
  std::atomic<bool> paused_{false};
  std::atomic<bool> draining_{false};  // stopSubscribing(): the feeder never restarts the client
  std::atomic<bool> pauseRequested_{false};  // the I/O thread stopped reading: stop the client
  std::atomic<std::uint64_t> feederOutstanding_{0};  // pushed, not settled yet
  log::Every spoolLog_{std::chrono::seconds(5)};
  std::vector<std::uint64_t> spoolIds_;  // I/O thread only (spoolBatch)
  void flushAcks() noexcept;
  static constexpr std::size_t kAckBatch = 128;
  std::mutex ackMu_;
  std::vector<std::uint64_t> ackBuf_;  // spool acks not handed to the spool yet
  std::uint64_t pauseAtMessages_ = 0;  // 0: no limit
  std::uint64_t pauseAtBytes_ = 0;
  std::mutex feedPushMu_;  // guards the two below and the spool's read cursor
  std::vector<spool::Entry> feedEntries_;
  pipeline::Batch feedPending_;  // read from the spool, refused by the route so far
  // Reads of fewer than kPaceBatch messages while the route has kPaceBacklog in flight: the
  // subscriber reads every kPace instead of at each packet. What is in flight lasts longer than
  // the pause up to 64k msg/s; beyond that, reads are large and not paced.
  static constexpr std::size_t kPaceBatch = 32;
  static constexpr std::size_t kPaceBacklog = 64;
  static constexpr std::chrono::microseconds kPace{1000};
};

}  // namespace mqb::sources
