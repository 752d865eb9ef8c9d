#pragma once
// mqbridge's own MQTT client connection, shared by the MQTT source (subscriber), the MQTT sink
// (publisher) and the status publisher: URI, protocol version (3.1.1 / 5), TCP, TLS and WebSocket
// transports (sources/mqtt/wire/transport.h), authentication, keep-alive, reconnect with backoff,
// CONNACK limits.
//
// Threading: each client has one I/O thread of its own. It connects (blocking, bounded by the
// connect timeout, interruptible by stop()), then runs a poll() loop that reads whole socket
// buffers, decodes every packet in them (sources/mqtt/wire/codec.h) and writes everything queued
// meanwhile with one send per wake-up. Listener callbacks run on that thread, one at a time; API
// calls (publish, subscribe, ...) are thread-safe, never block on the network and may be made from
// a callback. Nothing is shared between clients: no global lock, no global thread (the reasons
// the bridge no longer uses Paho, bench/RESULTS.md "Bridge A/B").

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/model.h"
#include "metrics/route_metrics.h"
#include "pipeline/message.h"
#include "sources/mqtt/wire/codec.h"

namespace mqb::sources {

class TokenFetcher;
namespace wire {
class Transport;
}

/// Everything one MQTT connection needs. Filled by the runtime from ConnectorSpec/RouteSpec, or by
/// tests by hand.
struct ClientOptions {
  std::string clientId;
  config::BrokerConnection broker;
  config::MqttVersion version = config::MqttVersion::V5;
  int keepAliveSeconds = 60;
  /// Persistent session: v5 clean start off + this expiry, v3 cleansession=0. Set
  /// `persistentSession=false` for a clean session (publishers do not need one).
  bool persistentSession = true;
  int sessionExpirySeconds = 3600;
  /// v5: the Receive Maximum sent in CONNECT (at most this many QoS>0 PUBLISHes unacknowledged
  /// from the broker at a time); 0 = not sent (65535).
  std::uint16_t receiveMaximum = 0;
  /// At most this many QoS>0 PUBLISHes the owner keeps unacknowledged (its window; 0 = the
  /// broker's Receive Maximum). While the window is not full, the I/O thread is woken for several
  /// acknowledgements at a time rather than for each one (see ackLowWater).
  std::size_t sendWindow = 0;
  /// Reconnect backoff: first delay, cap, and how long a connection must last before the backoff
  /// starts again from `minRetry`. Each delay is jittered to [d/2, d].
  std::chrono::milliseconds minRetry{200};
  std::chrono::milliseconds maxRetry{30000};
  std::chrono::milliseconds stableAfter{10000};
  std::chrono::seconds connectTimeout{10};
  /// For logs only ("<connector>/<route>/<side>").
  std::string name;
  /// systemAssignedManagedIdentity: token endpoint override (tests); default from the environment
  /// (IDENTITY_ENDPOINT, then IMDS_ENDPOINT, then http://169.254.169.254).
  std::string identityEndpoint;
  /// Last will (empty topic: none). Used by the connector's status client ("offline").
  struct Will {
    std::string topic;
    std::string payload;
    int qos = 1;
    bool retain = true;
  } will;
};

/// What the broker told us in CONNACK.
struct ConnectInfo {
  bool sessionPresent = false;
  std::uint16_t receiveMaximum = 65535;  ///< 65535 when absent (v5) or for v3
  std::uint32_t maximumPacketSize = 0;   ///< 0 = no limit announced
  bool v5 = true;
};

/// Callbacks of one client. All run on the client's I/O thread (never concurrently for one
/// client); they must not block, must not throw, and must not call Client::stop().
class ClientListener {
 public:
  virtual ~ClientListener() = default;
  virtual void onConnected(const ConnectInfo& info) noexcept = 0;
  /// The connection went. QoS 1 publishes still awaiting their PUBACK are forgotten by the client
  /// (no onPublished for them): the listener sends them again after the reconnect.
  virtual void onConnectionLost() noexcept = 0;
  /// A PUBLISH from the broker: topic, payload, qos, retain and the forwardable v5 properties are
  /// set. For QoS 1 the PUBACK is sent after this returns (so whatever the listener did with the
  /// message — a spool write — happened before the broker hears it is safe). The default ignores.
  virtual void onMessage(pipeline::Message&& message) noexcept;
  /// Every PUBLISH decoded from one read, in order (at most a few hundred): lets a listener write
  /// them to its spool with one write(2). The PUBACKs follow once this returns. The default calls
  /// onMessage() for each.
  virtual void onMessages(std::vector<pipeline::Message>& batch) noexcept;
  /// The broker answered a QoS 1 publish made with `cookie` (reasonCode >= 0x80: refused, v5
  /// only). QoS 0 publishes get no answer. The default ignores.
  virtual void onPublished(std::uint64_t cookie, std::uint8_t reasonCode) noexcept;
  /// Every answer (cookie, reason code) of one socket read, in order. The default calls
  /// onPublished() for each.
  virtual void onPublishedBatch(
      std::vector<std::pair<std::uint64_t, std::uint8_t>>& results) noexcept;
};

/// The URI form of a broker connection for logs: tcp|ssl|ws|wss://host:port, IPv6 literals in
/// brackets.
std::string brokerUri(const config::BrokerConnection& broker);

/// Human name of an MQTT v5 reason code, for logs and bounded metric labels.
std::string reasonName(int mqttReasonCode);

/// One MQTT client with its connection life. Thread-safe. Not copyable.
class Client {
 public:
  /// `listener` (may be null) must outlive the client (or stop() must have returned). `metrics`
  /// may be null.
  Client(ClientOptions options, ClientListener* listener,
         metrics::ClientMetrics* metrics = nullptr);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Starts the I/O thread, which connects in the background and reconnects forever. Returns
  /// false (and logs) only if the options cannot work at all.
  bool start();
  /// Sends what is queued and a DISCONNECT (waiting at most `timeout` for the socket to take it),
  /// closes and joins the I/O thread; start() may connect again afterwards (same options,
  /// persistent session kept). After it returns no callback runs. Idempotent. Must not be called
  /// from a callback.
  void stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));

  /// Between start() and stop().
  bool running() const noexcept { return running_.load(std::memory_order_acquire); }
  bool connected() const noexcept { return connected_.load(std::memory_order_acquire); }
  bool v5() const noexcept { return options_.version == config::MqttVersion::V5; }
  const ClientOptions& options() const noexcept { return options_; }
  /// CONNACK values of the current (or last) connection.
  ConnectInfo connectInfo() const;
  std::uint64_t connectionsForTest() const noexcept { return connections_.load(); }
  /// The socket's current SO_RCVLOWAT as the client set it (1 = every byte wakes the I/O thread).
  int receiveLowWaterForTest() {
    std::lock_guard<std::mutex> lk(ioMu_);
    return lowWater_;
  }
  /// Sleeps of the I/O thread that paceNextRead() stretched.
  std::uint64_t pacedSleepsForTest() const noexcept { return pacedSleeps_.load(); }

  enum class Send : std::uint8_t {
    Ok,
    Disconnected,  ///< not connected now: nothing was queued
    NoPacketId,    ///< 65535 QoS>0 packets already await an answer
  };
  struct Publish {
    std::string_view topic;
    std::string_view payload;
    std::uint8_t qos = 0;
    bool retain = false;
    const pipeline::Properties* props = nullptr;     ///< v5 only; null = none
    const pipeline::UserProperty* marker = nullptr;  ///< one more user property (hop marker)
    std::optional<std::uint32_t> expiry;             ///< overrides props->messageExpirySeconds
    /// Only queue it: the caller publishes more and calls flush() once (one send for all).
    bool defer = false;
  };
  /// Queues a PUBLISH on the current connection. QoS 1: the broker's answer arrives through
  /// ClientListener::onPublished(cookie, ...) unless the connection is lost first.
  Send publish(const Publish& p, std::uint64_t cookie) noexcept;
  /// Writes what deferred publishes queued (on this thread when the socket is free, else by
  /// waking the I/O thread). Never blocks on the network.
  void flush() noexcept { kick(); }

  /// Called with (ok, first reason code) when the SUBACK / UNSUBACK arrives, or with (false, 0)
  /// when the connection is lost first. Runs on the I/O thread.
  using Done = std::function<void(bool ok, std::uint8_t reasonCode)>;
  Send subscribe(const std::string& filter, const wire::SubscribeOptions& o, Done done);
  Send unsubscribe(const std::string& filter, Done done);

  /// Stops reading from the broker (until the next start()): nothing more arrives, nothing more
  /// is acknowledged, so the broker holds what is left for the session. Callable from a
  /// callback. Used by the source's spool backpressure just before it stops the client.
  void holdReading() noexcept { holdReads_.store(true, std::memory_order_release); }

  /// Callable from onMessages() or onPublishedBatch(): the I/O thread's next sleep lasts `d`
  /// instead of ending at the first byte, and the read after it takes whatever arrived meanwhile
  /// in one go (the PUBACKs for it go out then too). For a listener whose route is backlogged,
  /// where what arrives next waits behind that backlog anyway: one wake-up per `d` instead of one
  /// per packet or two. Only the next sleep: a read that brings nothing, or no further call, goes
  /// back to waking for the first byte. Output, a hang-up, stop() and the keep-alive still end
  /// the sleep at once.
  void paceNextRead(std::chrono::microseconds d) noexcept {
    paceUs_.store(d.count(), std::memory_order_relaxed);
  }

  /// The exact size of a PUBLISH on this connection (for the broker's Maximum Packet Size).
  std::size_t publishSize(const Publish& p) const noexcept;

 private:
  struct Inflight {
    std::uint64_t cookie = 0;
    Done done;  // subscribe / unsubscribe
  };

  void run() noexcept;
  /// One connection attempt on the I/O thread; true once CONNACK accepted it.
  bool connectOnce();
  /// Serves a connection until it is lost or the client closes.
  void serve();
  void dispatch(const wire::Packet& p);
  /// Hands the PUBLISHes decoded so far to the listener, then queues their acknowledgements.
  void deliverBatch();
  /// Hands the QoS 1 answers decoded so far to the listener in one call.
  void deliverAcked();
  bool writeAll(std::chrono::steady_clock::time_point deadline);
  void dropConnection(const std::string& reason);
  void drainUntilClosed(std::chrono::steady_clock::time_point deadline);
  void waitBackoff();
  void waitWake(std::chrono::milliseconds timeout);
  void wakeLocked();
  /// After queueing into out_ from another thread: writes it right away on this thread when the
  /// transport is free (no hand-off to the I/O thread), else wakes the I/O thread.
  void kick() noexcept;
  /// Caller holds ioMu_.
  void directSend() noexcept;
  bool allocIdLocked(std::uint16_t& id);
  /// SUBSCRIBE / UNSUBSCRIBE: a packet id, the callback, `encode(id)` into out_, then kick().
  template <typename Encode>
  Send request(Done done, Encode encode);
  void handleConnected(const ConnectInfo& info);
  void handleFailure(const std::string& reason, const std::string& detail);
  void handleLost(const std::string& reason);
  void setState(const std::string& state, const std::string& detail, bool failure);
  bool closing() const;

  ClientOptions options_;
  ClientListener* listener_;
  metrics::ClientMetrics* metrics_;
  wire::Version version_;

  std::atomic<bool> running_{false};
  std::atomic<bool> connected_{false};
  std::atomic<bool> holdReads_{false};
  std::atomic<std::int64_t> paceUs_{0};  // paceNextRead(), taken by the I/O thread's next sleep
  std::atomic<std::uint64_t> pacedSleeps_{0};
  std::atomic<std::uint64_t> connections_{0};
  std::thread thread_;
  std::thread::id ioThread_;
  int wakeFd_ = -1;

  // Guarded by mu_: what other threads hand to the I/O thread, and the connection's packet ids.
  mutable std::mutex mu_;
  bool open_ = false;     // a connection is established (publish/subscribe may queue)
  bool closing_ = false;  // stop() asked the I/O thread to finish
  bool wakePending_ = false;
  std::chrono::milliseconds stopTimeout_{1000};
  std::string out_;  // encoded packets not yet handed to the transport
  std::unordered_map<std::uint16_t, Inflight> inflight_;
  std::uint16_t nextId_ = 1;
  bool subscribed_ = false;  // a SUBSCRIBE went out on this connection: PUBLISHes may come
  ConnectInfo info_;
  std::string lastState_;
  int attempt_ = 0;
  std::chrono::steady_clock::time_point connectedAt_{};

  // The transport: created and destroyed by the I/O thread; every call on it holds ioMu_ (the
  // I/O thread for reads, acks and flushes; a publishing thread for a direct send). Order:
  // ioMu_ before mu_; publishers only ever try_lock it.
  std::mutex ioMu_;
  std::unique_ptr<wire::Transport> transport_;
  std::string directBuf_;  // guarded by ioMu_

  // I/O thread only.
  wire::Decoder decoder_;
  std::string acks_;                      // PUBACKs etc. produced while dispatching
  std::vector<pipeline::Message> batch_;  // decoded PUBLISHes not yet delivered
  std::vector<std::pair<std::uint16_t, std::uint8_t>> batchAcks_;  // (packet id, qos) of those
  std::vector<std::pair<std::uint16_t, std::uint8_t>> acked_;      // PUBACK/PUBCOMP (id, reason)
  std::vector<std::pair<std::uint64_t, std::uint8_t>> published_;  // (cookie, reason) of those
  std::string sendBuf_;                                            // swapped with out_ under mu_
  std::chrono::steady_clock::time_point lastSent_{};
  std::chrono::steady_clock::time_point pingSentAt_{};
  bool pingOutstanding_ = false;
  // Guarded by ioMu_: the socket's SO_RCVLOWAT; whether publishers may raise it (the I/O thread
  // waits for acknowledgements only) and the bytes the decoder held when the I/O thread set it.
  int lowWater_ = 1;
  bool lowWaterMayRise_ = false;
  std::size_t lowWaterHave_ = 0;
  std::string lostReason_;

  std::unique_ptr<TokenFetcher> tokens_;

  /// The owner's window: ClientOptions::sendWindow, at most the broker's Receive Maximum.
  std::size_t windowFor(std::uint16_t receiveMaximum) const noexcept;
  /// SO_RCVLOWAT for a client that only waits for acknowledgements of `waiting` packets (no
  /// subscription, no ping outstanding) and can still send (its window is not full): it is woken
  /// once several of them are there rather than for each one: 4 bytes (the smallest PUBACK) times
  /// min(waiting, a quarter of the window, 32), less the `have` bytes the decoder already holds
  /// of them. 1 otherwise. A full window must wake for every byte: a broker with Nagle's
  /// algorithm on (mosquitto's default) sends its next acknowledgements only once our kernel
  /// acknowledges the first segment, which the kernel delays (40 ms) while we neither read nor
  /// send.
  int ackLowWater(std::size_t waiting, std::uint16_t receiveMaximum,
                  std::size_t have) const noexcept;
  /// A thread sent: a full window or a new subscription goes back to a wake-up per byte; a window
  /// that grew since the I/O thread went to sleep raises the mark (in doubling steps, each a
  /// setsockopt). ioMu_ held.
  void adjustLowWaterLocked(std::size_t waiting, std::uint16_t receiveMaximum,
                            bool subscribed) noexcept;
};

}  // namespace mqb::sources
