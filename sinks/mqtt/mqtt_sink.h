#pragma once
// The MQTT sink: one publisher client per route branch, with its own bounded QoS 1 window (Paho
// only refills its in-flight window once a second, NOTES §1.9), rate-limit wake-ups on a timer,
// and exact forwarding of payload, retain flag and v5 properties.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/model.h"
#include "metrics/route_metrics.h"
#include "pipeline/clock.h"
#include "pipeline/sink.h"
#include "sources/mqtt/client.h"

namespace mqb::sinks {

struct SinkOptions {
  /// QoS 1 messages awaiting PUBACK; the effective window is min(this, CONNACK Receive Maximum).
  int maxInflight = 100;
  /// `never` strips the retain flag (for remotes that reject retained messages).
  config::RetainPolicy retain = config::RetainPolicy::Keep;
  /// v5 only: every published message carries user property hopMarkerKey=hopMarkerValue (the
  /// connector name), so the opposite route's source recognises it. Empty value: no marker.
  std::string hopMarkerKey = "mqbridge-hop";
  std::string hopMarkerValue;
  /// Default deadline of stop() without an argument.
  std::chrono::milliseconds stopTimeout{5000};
};

/// Publishes one branch's messages. Implements pipeline::Sink (see its contract): write() never
/// blocks on the network; each message is settled exactly once (Delivered on PUBACK, or for QoS 0
/// once handed to the connection; Dropped with a counted reason otherwise) and then released.
/// While disconnected, QoS 1 messages wait (nothing lost; re-sent after reconnect, so duplicates
/// are possible) and QoS 0 messages are dropped (DropReason::Qos0Disconnected).
class MqttSink final : public pipeline::Sink, private sources::ClientListener {
 public:
  /// The client always uses a clean session (ClientOptions::persistentSession is forced off): the
  /// sink keeps unacknowledged messages itself and re-sends them after a reconnect.
  /// ClientOptions::maxInflight is set from SinkOptions::maxInflight. Metrics may be null.
  MqttSink(sources::ClientOptions client, SinkOptions options,
           metrics::RouteMetrics* routeMetrics = nullptr,
           metrics::ClientMetrics* clientMetrics = nullptr, const pipeline::Clock* clock = nullptr,
           sources::Timer* timer = nullptr);
  ~MqttSink() override;
  MqttSink(const MqttSink&) = delete;
  MqttSink& operator=(const MqttSink&) = delete;

  void setRelease(pipeline::ReleaseFn release) override;
  void write(pipeline::Batch&& batch) noexcept override;
  void start() override;
  /// stop(options.stopTimeout).
  void stop() override;
  /// Stops accepting, waits up to `deadline` for everything held to be acknowledged, disconnects,
  /// then settles what is left as Dropped (DropReason::Shutdown) and releases it.
  void stop(std::chrono::milliseconds deadline);

  /// Connected to the target broker.
  bool ready() const noexcept { return client_.connected(); }
  const sources::Client& client() const noexcept { return client_; }
  /// Messages held (queued, awaiting PUBACK, or waiting to be re-sent).
  std::size_t heldForTest() const;
  /// Largest number of QoS 1 messages ever awaiting PUBACK at once.
  std::size_t maxOutstandingForTest() const;

 private:
  struct Pending {
    std::uint64_t seq = 0;
    pipeline::Message msg;
  };
  struct Result {
    bool ok = true;
    int reasonCode = 0;
    int packetType = 0;
  };
  struct Done {
    pipeline::Message msg;
    pipeline::Outcome outcome;
    metrics::DropReason reason;
  };

  void onConnected(const sources::ConnectInfo& info) noexcept override;
  void onConnectionLost() noexcept override;
  static void onPublished5(void* ctx, MQTTAsync_successData5* r);
  static void onPublishFailed5(void* ctx, MQTTAsync_failureData5* r);
  static void onPublished3(void* ctx, MQTTAsync_successData* r);
  static void onPublishFailed3(void* ctx, MQTTAsync_failureData* r);

  void pump() noexcept;
  void complete(int token, const Result& result) noexcept;
  /// Applies the result to an outstanding message; caller holds mu_.
  void resolveLocked(Pending&& p, const Result& result, std::vector<Done>& done);
  void finish(std::vector<Done>& done) noexcept;
  void wakeAtLocked(pipeline::SteadyTime at);
  std::size_t packetSize(const pipeline::Message& m) const;

  SinkOptions options_;
  metrics::RouteMetrics* metrics_;
  const pipeline::Clock* clock_;
  sources::Timer* timer_;
  sources::Client client_;
  pipeline::ReleaseFn release_;

  mutable std::mutex mu_;
  std::condition_variable idleCv_;
  std::deque<pipeline::Message> queue_;               // not yet sent, in order
  std::map<std::uint64_t, pipeline::Message> retry_;  // sent once, to be re-sent, by send order
  std::unordered_map<int, Pending> outstanding_;      // awaiting PUBACK, by Paho token
  std::vector<std::pair<int, Result>> early_;         // results that beat sendMessage's return
  std::uint64_t nextSeq_ = 1;
  std::size_t window_ = 1;
  std::size_t maxOutstanding_ = 0;
  std::uint32_t maxPacket_ = 0;
  bool connected_ = false;
  bool pumping_ = false;
  bool again_ = false;
  bool limbo_ = false;
  bool stopping_ = false;
  bool closed_ = false;           // stop() is tearing the client down: no more sends
  std::uint64_t connection_ = 0;  // bumped on every connect and loss
  std::set<sources::Timer::Id> timers_;
  pipeline::SteadyTime wakeAt_{};
  // The v5 properties of a message without properties of its own (the hop marker), built on the
  // first such publish (Paho must have a client first, NOTES 1.8); only pump() touches them.
  MQTTProperties plainProps_ = MQTTProperties_initializer;
  bool plainPropsBuilt_ = false;
};

/// Builds Paho v5 properties from the pipeline's (plus an optional hop marker). Needs a Paho
/// client to exist already (Debian's Paho crashes otherwise, NOTES §1.8).
/// `expiry` replaces props.messageExpirySeconds when set (the reduced remaining lifetime).
MQTTProperties toPaho(const pipeline::Properties& props, const std::string& markerKey,
                      const std::string& markerValue,
                      std::optional<std::uint32_t> expiry = std::nullopt);

}  // namespace mqb::sinks
