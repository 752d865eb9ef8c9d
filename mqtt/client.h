#pragma once
// mqbridge's MQTT client: one connection to one broker, MQTT 3.1.1 or 5, over TCP, TLS, WebSocket
// or secure WebSocket (wire/transport.h), with credentials read from files at every attempt,
// keep-alive, reconnect with backoff and the broker's CONNACK limits applied. The guarantees it
// gives against a peer that misbehaves are listed in mqtt/README.md.
//
// Threading: each client has one I/O thread of its own. It connects (blocking, bounded by the
// connect timeout, interruptible by stop()), then runs a poll() loop that reads whole socket
// buffers, decodes every packet in them (wire/codec.h) and writes everything queued meanwhile
// with one send per wake-up. Listener callbacks run on that thread, one at a time; API calls
// (publish, subscribe, ...) are thread-safe, never block on the network and may be made from a
// callback. Nothing is shared between clients: no global lock, no global thread.
//
// Depends on nothing of the bridge: plain options in, messages, typed failures and observer
// events out.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "mqtt/failure.h"
#include "mqtt/message.h"
#include "mqtt/wire/codec.h"

namespace mqb::mqtt {

namespace auth {
class TokenFetcher;
}
namespace wire {
class Transport;
struct TransportOptions;
}  // namespace wire

using wire::Version;

/// A proxy in front of the broker: the connection goes to it and asks for a tunnel to the
/// broker's host:port (HTTP CONNECT or SOCKS5); TLS and WebSocket run through the tunnel.
struct Proxy {
  enum class Kind : std::uint8_t { None, HttpConnect, Socks5 };
  Kind kind = Kind::None;
  std::string host;  ///< DNS name or IP literal, without brackets
  std::uint16_t port = 0;
  /// Credentials given inline (e.g. from the user info of HTTPS_PROXY); never logged.
  std::string username;
  std::string password;
  /// Credentials in files (a mounted Secret), read at every attempt; used when usernameFile is set.
  std::string usernameFile;
  std::string passwordFile;
};

/// http://host:port or socks5://host:port of a proxy, without credentials ("" for none).
std::string uriOf(const Proxy& p);

/// Where the broker is.
struct Endpoint {
  std::string host;  ///< DNS name, IPv4 or IPv6 literal (without brackets)
  std::uint16_t port = 0;
  bool tls = false;
  bool websocket = false;
  std::string websocketPath = "/mqtt";
  std::vector<std::string> caFiles;  ///< trusted CA PEM files; empty = the system trust store
  std::vector<std::string> alpn;     ///< TLS: ALPN protocols offered, in order; empty = none
  Proxy proxy;                       ///< Kind::None: a direct connection
};

/// tcp|ssl|ws|wss://host:port, IPv6 literals in brackets (for logs).
std::string uriOf(const Endpoint& e);

/// How the client proves who it is. Files are read at every connection attempt, so rotated
/// files are picked up by the next one.
struct Credentials {
  enum class Kind {
    Anonymous,
    UsernamePassword,  ///< usernameFile, passwordFile (a trailing newline is not part of them)
    X509,              ///< certFile, keyFile, intermediateFile (optional, may be absent)
    KubernetesToken,   ///< tokenFile, sent as v5 enhanced authentication K8S-SAT
    ManagedIdentity,   ///< audience: a token fetched over HTTP, sent as v5 OAUTH2-JWT
  };
  Kind kind = Kind::Anonymous;
  std::string usernameFile;
  std::string passwordFile;
  std::string certFile;
  std::string keyFile;
  std::string intermediateFile;
  std::string tokenFile;
  std::string audience;
  /// ManagedIdentity: token endpoint ("" = from the environment, see auth/token_fetcher.h) and
  /// the directory an Azure Arc challenge key must be in.
  std::string identityEndpoint;
  std::string arcKeyDirectory = "/var/opt/azcmagent/tokens";
};

/// The Maximum Packet Size a client announces and enforces unless told otherwise.
inline constexpr std::uint32_t kDefaultMaximumPacketSize = 16u << 20;
/// Output a client queues before publish() says Busy and reading stops.
inline constexpr std::size_t kDefaultMaxOutputBytes = 4u << 20;

/// Everything one MQTT connection needs.
struct ClientOptions {
  std::string clientId;
  Endpoint endpoint;
  Credentials credentials;
  Version version = Version::V5;
  /// Our keep-alive; a v5 CONNACK's Server Keep Alive replaces it for that connection.
  int keepAliveSeconds = 60;
  /// Persistent session: v5 clean start off + this expiry, v3 cleansession=0.
  bool persistentSession = true;
  int sessionExpirySeconds = 3600;
  /// v5: the Receive Maximum sent in CONNECT (at most this many QoS>0 PUBLISHes unacknowledged
  /// from the broker at a time); 0 = not sent (65535). A broker exceeding it is disconnected.
  std::uint16_t receiveMaximum = 0;
  /// Largest packet accepted from the broker, announced in a v5 CONNECT. A larger PUBLISH is
  /// discarded as it arrives (never buffered), acknowledged and reported through
  /// ClientListener::onRefused; any other larger packet ends the connection.
  std::uint32_t maximumPacketSize = kDefaultMaximumPacketSize;
  /// Bound of output not yet taken by the socket: beyond it publish() answers Busy and the
  /// client stops reading (a peer that never reads cannot make it queue without end).
  std::size_t maxOutputBytes = kDefaultMaxOutputBytes;
  /// At most this many QoS>0 PUBLISHes the owner keeps unacknowledged (its window; 0 = the
  /// broker's Receive Maximum). While the window is not full, the I/O thread is woken for several
  /// acknowledgements at a time rather than for each one (see ackLowWater).
  std::size_t sendWindow = 0;
  /// Reconnect backoff: first delay, cap, and how long a connection must last before the backoff
  /// starts again from `minRetry`. Each delay is jittered to [d/2, d].
  std::chrono::milliseconds minRetry{200};
  std::chrono::milliseconds maxRetry{30000};
  std::chrono::milliseconds stableAfter{10000};
  /// More endpoints of the same service, tried in order after `endpoint` (which is index 0): a
  /// failed attempt moves on to the next one (after the last, back to the first), and the
  /// reconnect backoff grows once per round through the list, not per endpoint. A connection
  /// that was up and went is tried again on the same endpoint first.
  std::vector<Endpoint> fallbackEndpoints;
  /// While connected to a fallback: every `primaryCheckInterval` a transport connection (TCP,
  /// proxy, TLS, WebSocket upgrade; no MQTT) is opened to `endpoint` and closed again. Once that
  /// succeeds, publish() answers Busy, the publishes in flight are given up to `switchDrain` to be
  /// acknowledged, the client disconnects normally (onConnectionLost with ReturningToPrimary) and
  /// connects to `endpoint` at once. Zero: stay on the fallback until it fails.
  std::chrono::milliseconds primaryCheckInterval{30000};
  std::chrono::milliseconds switchDrain{2000};
  /// Bounds each attempt: name lookup, TCP, TLS, WebSocket, token fetch, CONNACK; and a
  /// re-authentication's answer.
  std::chrono::seconds connectTimeout{10};
  /// QoS>0 publishes outstanding and no acknowledgement for this long: the connection is closed
  /// (Cause::AckTimeout) and the owner sends them again after the reconnect (with DUP). Checked
  /// at least every quarter of it. 0 = never.
  std::chrono::milliseconds ackTimeout{0};
  /// How often the credential files (and a managed identity's token expiry) are checked for a
  /// change while connected; 0 = never. A changed token is sent by re-authentication (v5 AUTH
  /// 0x19, the connection stays); other changed files that are valid lead to a graceful
  /// reconnect; files that do not work (a key that does not match its certificate) are logged
  /// and leave the connection as it is.
  std::chrono::milliseconds credentialCheckInterval{10000};
  /// Graceful reconnect: publish() answers Busy, and the client waits at most this long for the
  /// acknowledgements of what is outstanding before it sends DISCONNECT and reconnects at once.
  std::chrono::milliseconds drainTimeout{5000};
  /// For logs only ("<connector>/<route>/<side>").
  std::string name;
  /// Last will (empty topic: none).
  struct Will {
    std::string topic;
    std::string payload;
    int qos = 1;
    bool retain = true;
  } will;
};

/// What the broker told us in CONNACK (defaults for v3 and for absent properties).
struct ConnectInfo {
  bool sessionPresent = false;
  std::uint16_t receiveMaximum = 65535;
  std::uint32_t maximumPacketSize = 0;  ///< 0 = no limit announced
  std::uint8_t maximumQos = 2;          ///< publish at most this QoS
  bool retainAvailable = true;          ///< false: publish without the retain flag
  int keepAliveSeconds = 0;             ///< in effect (Server Keep Alive or ours)
  bool v5 = true;
};

/// Why an incoming PUBLISH was acknowledged but not delivered as a message.
enum class Refusal : std::uint8_t {
  InvalidTopic,       ///< its topic is not a valid topic name (wire::PublishStatus)
  InvalidProperties,  ///< a property breaks the rules (wire::PublishStatus)
  TooLarge,           ///< over ClientOptions::maximumPacketSize (payload discarded unread)
};
std::string_view name(Refusal r) noexcept;

/// Callbacks of one client. All run on the client's I/O thread (never concurrently for one
/// client); they must not block, must not throw, and must not call Client::stop().
class ClientListener {
 public:
  virtual ~ClientListener() = default;
  virtual void onConnected(const ConnectInfo& info) noexcept = 0;
  /// The connection went, for `why`. QoS>0 publishes still awaiting their answer are forgotten by
  /// the client (no onPublished for them): the listener sends them again after the reconnect.
  virtual void onConnectionLost(const Failure& why) noexcept = 0;
  /// A PUBLISH from the broker. For QoS 1 the PUBACK is sent after this returns (so whatever the
  /// listener did with the message, a spool write, happened before the broker hears it is safe).
  /// QoS 2: delivered once per packet id, however often the broker re-sends it before PUBREL.
  /// The default ignores.
  virtual void onMessage(Message&& message) noexcept;
  /// Every PUBLISH decoded from one read, in order (at most a few hundred): lets a listener write
  /// them to its spool with one write(2). The acknowledgements follow once this returns. The
  /// default calls onMessage() for each.
  virtual void onMessages(std::vector<Message>& batch) noexcept;
  /// A PUBLISH that cannot be delivered as it is (see Refusal; for TooLarge the payload is
  /// empty). It is acknowledged once this returns (v5 with a failure reason code), so the broker
  /// does not send it again: whatever the listener keeps of it must be kept before returning.
  /// Called in order with onMessages(). The default drops it.
  virtual void onRefused(Message&& message, Refusal why, const std::string& detail) noexcept;
  /// The broker answered a QoS>0 publish made with `cookie` (reasonCode >= 0x80: refused, v5
  /// only). QoS 0 publishes get no answer. The default ignores.
  virtual void onPublished(std::uint64_t cookie, std::uint8_t reasonCode) noexcept;
  /// Every answer (cookie, reason code) of one socket read, in order. The default calls
  /// onPublished() for each.
  virtual void onPublishedBatch(
      std::vector<std::pair<std::uint64_t, std::uint8_t>>& results) noexcept;
  /// publish() answered Busy since the last call, and the output has drained to half its bound.
  virtual void onWritable() noexcept;
};

/// What a client did, for metrics. Called on the client's I/O thread (onStopped: on the thread
/// that called stop()); must not block or throw.
class ClientObserver {
 public:
  virtual ~ClientObserver() = default;
  virtual void onConnectAttempt() noexcept {}
  /// `reconnect`: not the client's first connection.
  virtual void onConnected(bool reconnect) noexcept { (void)reconnect; }
  virtual void onConnectFailed(const Failure& why) noexcept { (void)why; }
  virtual void onConnectionLost(const Failure& why) noexcept { (void)why; }
  /// stop() ended a connection.
  virtual void onStopped() noexcept {}
  /// A re-authentication (v5 AUTH 0x19) ended: "accepted", "refused" (the broker answered with
  /// anything but success; the client reconnects at once) or "no_token" (a new token could not be
  /// read or fetched: the connection stays until it fails).
  virtual void onReauthentication(std::string_view result) noexcept { (void)result; }
  /// Changed credential files were found: `applied` (a graceful reconnect takes them) or not
  /// (they do not work; the connection keeps the old ones).
  virtual void onCredentialsChanged(bool applied) noexcept { (void)applied; }
  /// A connection is up on endpoint `index` (0 = ClientOptions::endpoint, then the fallbacks);
  /// called just before onConnected.
  virtual void onEndpoint(std::size_t index, const Endpoint& e) noexcept {
    (void)index;
    (void)e;
  }
};

/// One MQTT client with its connection life. Thread-safe. Not copyable.
class Client {
 public:
  /// `listener` and `observer` (each may be null) must outlive the client (or stop() must have
  /// returned).
  Client(ClientOptions options, ClientListener* listener, ClientObserver* observer = nullptr);
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
  bool v5() const noexcept { return options_.version == Version::V5; }
  const ClientOptions& options() const noexcept { return options_; }
  /// CONNACK values of the current (or last) connection.
  ConnectInfo connectInfo() const;
  /// The endpoint of the current (or next) attempt: 0 = ClientOptions::endpoint, then the
  /// fallbacks in order.
  std::size_t endpointIndex() const noexcept {
    return endpointIndex_.load(std::memory_order_acquire);
  }
  const Endpoint& endpointAt(std::size_t index) const noexcept {
    return index == 0 ? options_.endpoint : options_.fallbackEndpoints[index - 1];
  }
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
    Busy,          ///< the output is at its bound: try again after ClientListener::onWritable()
  };
  struct Publish {
    std::string_view topic;
    std::string_view payload;
    std::uint8_t qos = 0;
    bool retain = false;
    const Properties* props = nullptr;     ///< v5 only; null = none
    const UserProperty* marker = nullptr;  ///< one more user property (hop marker)
    std::optional<std::uint32_t> expiry;   ///< overrides props->messageExpirySeconds
    /// Only queue it: the caller publishes more and calls flush() once (one send for all).
    bool defer = false;
    /// QoS>0: the DUP flag, for a message sent before on a connection that was lost.
    bool dup = false;
  };
  /// Queues a PUBLISH on the current connection. QoS>0: the broker's answer arrives through
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
  /// in one go (the acknowledgements for it go out then too). For a listener whose route is
  /// backlogged, where what arrives next waits behind that backlog anyway: one wake-up per `d`
  /// instead of one per packet or two. Only the next sleep: a read that brings nothing, or no
  /// further call, goes back to waking for the first byte. Output, a hang-up, stop() and the
  /// keep-alive still end the sleep at once.
  void paceNextRead(std::chrono::microseconds d) noexcept {
    paceUs_.store(d.count(), std::memory_order_relaxed);
  }

  /// The exact size of a PUBLISH on this connection (for the broker's Maximum Packet Size).
  std::size_t publishSize(const Publish& p) const noexcept;

 private:
  enum class Request : std::uint8_t { Publish, Subscribe, Unsubscribe };
  struct Inflight {
    Request kind = Request::Publish;
    std::uint8_t qos = 0;   // Publish
    bool released = false;  // Publish QoS 2: PUBREC came, PUBREL sent
    std::uint64_t cookie = 0;
    Done done;  // Subscribe / Unsubscribe
  };

  // client.cc: the API side and the I/O thread's outer loop.
  void run() noexcept;
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
  Send request(Request kind, Done done, Encode encode);
  bool closing() const;
  /// Output queued anywhere (out_ and the transport's); mu_ held.
  std::size_t queuedOutputLocked() const noexcept;

  // connect.cc: one connection attempt.
  /// On the I/O thread; true once CONNACK accepted it.
  bool connectOnce();
  std::optional<Failure> prepareConnect(wire::ConnectPacket& cp);
  /// The transport options of `ep`: TLS files (each checked readable), WebSocket settings, ALPN,
  /// proxy (its credential files read).
  std::optional<Failure> transportOptions(const Endpoint& ep, wire::TransportOptions& to) const;
  /// Connects transport_ (TCP, TLS, WebSocket upgrade) by `deadline`; Aborted when stopping.
  std::optional<Failure> openTransport(const wire::TransportOptions& to,
                                       std::chrono::steady_clock::time_point deadline);
  /// Resets the per-connection state for the connection the CONNACK `info` accepted.
  void adoptConnection(const ConnectInfo& info);
  /// The first packet of a connection: a CONNACK that accepts, else the failure.
  std::optional<Failure> connackPacket(const wire::Packet& p, ConnectInfo& info) const;
  /// Reads what the socket holds into the decoder; `peerClosed` when the peer closed.
  std::optional<Failure> readBeforeConnack(bool& peerClosed);
  std::optional<Failure> awaitConnack(std::chrono::steady_clock::time_point deadline,
                                      ConnectInfo& info);
  bool writeAll(std::chrono::steady_clock::time_point deadline);
  void handleConnected(const ConnectInfo& info);
  void handleFailure(const Failure& f);

  // session.cc: serving an established connection.
  void serve();
  /// Decodes and dispatches everything buffered; false once the connection must go.
  bool processInput();
  /// What writeOutput() read under mu_ while taking the queued output.
  struct OutputState {
    std::size_t waiting = 0;  ///< publishes awaiting acknowledgement
    bool subscribed = true;
    std::uint16_t receiveMaximum = 0;
  };
  /// Moves our acks and the queued publishes into the transport (ioMu_ held).
  OutputState takeOutput(bool closingNow);
  /// Keep-alive: PINGREQ when due; fails the connection on silence or a write stall.
  void checkKeepAlive(std::chrono::steady_clock::time_point now);
  /// Writes what the transport holds, as far as the socket takes it.
  void flushOutput(std::chrono::steady_clock::time_point now);
  /// The poll events and descriptor to sleep on, and the receive low-water mark.
  void prepareWait(const OutputState& st, std::size_t pending, short& events, int& fd);
  /// Hands queued output to the transport, applies keep-alive and write-stall rules; the poll
  /// events to wait for.
  bool writeOutput(bool closingNow, short& events, int& fd);
  /// Milliseconds the I/O thread may sleep: until the keep-alive or maintain() is due (-1: no
  /// timer).
  int sleepTimeoutMs() const noexcept;
  /// Sleeps until the socket, another thread or a timer needs us, then reads.
  bool sleepAndRead(short events, int fd);
  void finishClosing();
  void dropConnection(Failure f);
  void drainUntilClosed(std::chrono::steady_clock::time_point deadline);
  void handleLost(const Failure& f);

  // renewal.cc: credentials that change and acknowledgements that stop, while connected.
  /// The periodic checks of a connection; false once it was closed on purpose (graceful
  /// reconnect), the reconnect then follows without backoff.
  bool maintain();
  /// AckTimeout when publishes have waited for ackTimeout without any acknowledgement.
  void watchAcks(std::chrono::steady_clock::time_point now, std::size_t waiting);
  /// Compares the credential files with their stamps: re-authenticates or starts a drain.
  void checkCredentials(std::chrono::steady_clock::time_point now);
  /// ManagedIdentity: starts a background fetch when the token is due, sends it when fetched.
  void refreshIdentityToken(std::chrono::steady_clock::time_point now);
  /// Sends AUTH 0x19 with `token` (scrubbed afterwards).
  void sendReauth(std::string& token, std::chrono::steady_clock::time_point now);
  /// The broker's AUTH answer to a re-authentication.
  void onReauthAnswer(const wire::Packet& p);
  /// The broker refused a re-authentication with reason `rc` in a `packet`: counted, and the
  /// connection goes for a new one at once.
  void reauthRefused(std::uint8_t rc, std::string_view packet);
  /// The one way this client leaves a working connection on purpose (changed credentials, an
  /// unanswered re-authentication, the return to the first endpoint): publishes pause (Busy)
  /// until what is outstanding is acknowledged or `within` passes, then finishDrain() sends
  /// DISCONNECT and the connection goes with `cause` (Reconnecting: the same endpoint;
  /// ReturningToPrimary: endpoint 0) for a new one at once. A drain under way is not replaced.
  void beginDrain(std::string reason, Cause cause, std::chrono::milliseconds within,
                  std::chrono::steady_clock::time_point now);
  bool finishDrain();
  /// Stamps of the credential files as of now (prepareConnect() takes them before reading).
  void stampCredentials();
  void joinTokenThread() noexcept;
  /// When maintain() must next do more than look at the clock (time_point::max(): never).
  std::chrono::steady_clock::time_point maintenanceDue(
      std::chrono::steady_clock::time_point now) const noexcept;

  // dispatch.cc: one received packet.
  void dispatch(const wire::Packet& p);
  void onPublish(const wire::Packet& p);
  void onOversized(const wire::Packet& p);
  void onPublisherAck(const wire::Packet& p);
  void onSubscribeAck(const wire::Packet& p);
  void onPubrel(const wire::Packet& p);
  /// Reports a PUBLISH the listener gets through onRefused() and acknowledges it.
  void refuse(Message&& m, const wire::PublishHeader& h, Refusal why, const std::string& detail);
  /// Hands the PUBLISHes decoded so far to the listener, then queues their acknowledgements.
  void deliverBatch();
  /// Hands the QoS>0 answers decoded so far to the listener in one call.
  void deliverAcked();
  void fail(Cause cause, std::string detail);

  void setState(const std::string& state, const Failure* f);

  // endpoints.cc: the endpoint list, failover and the return to the primary.
  std::size_t endpointCount() const noexcept { return 1 + options_.fallbackEndpoints.size(); }
  /// After a failed attempt: the next endpoint in the list.
  void endpointFailed() noexcept;
  /// After CONNACK: tells the observer, clears a finished switch.
  void endpointConnected() noexcept;
  void startProber();
  void stopProber();
  void probeLoop() noexcept;
  /// One transport connection to the primary, closed again; true if it came up.
  bool probePrimary() const;

  ClientOptions options_;
  ClientListener* listener_;
  ClientObserver* observer_;
  Version version_;

  std::atomic<bool> running_{false};
  std::atomic<bool> connected_{false};
  std::atomic<bool> holdReads_{false};
  std::atomic<std::int64_t> paceUs_{0};  // paceNextRead(), taken by the I/O thread's next sleep
  std::atomic<std::uint64_t> pacedSleeps_{0};
  std::atomic<std::uint64_t> connections_{0};
  /// When anything was last handed to the socket, by any thread (steady_clock ticks).
  std::atomic<std::chrono::steady_clock::rep> lastSent_{0};
  /// The transport's unwritten output as of its last flush (read by publishers under mu_).
  std::atomic<std::size_t> transportPending_{0};
  std::thread thread_;
  std::thread::id ioThread_;
  int wakeFd_ = -1;

  // Guarded by mu_: what other threads hand to the I/O thread, and the connection's packet ids.
  mutable std::mutex mu_;
  bool open_ = false;     // a connection is established (publish/subscribe may queue)
  bool closing_ = false;  // stop() asked the I/O thread to finish
  bool wakePending_ = false;
  bool writableWanted_ = false;  // publish() said Busy: tell the listener when output drains
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
  std::string acks_;            // PUBACKs etc. produced while dispatching
  std::vector<Message> batch_;  // decoded PUBLISHes not yet delivered
  std::vector<std::pair<std::uint16_t, std::uint8_t>> batchAcks_;  // (packet id, qos) of those
  std::vector<std::pair<std::uint16_t, std::uint8_t>> acked_;      // PUBACK/PUBCOMP (id, reason)
  std::vector<std::pair<std::uint64_t, std::uint8_t>> published_;  // (cookie, reason) of those
  std::string sendBuf_;                                            // swapped with out_ under mu_
  std::unordered_set<std::uint16_t> qos2In_;  // QoS 2 PUBLISHes delivered, PUBREL not yet seen
  std::size_t unackedIn_ = 0;  // QoS>0 PUBLISHes received since our last acknowledgements went
  std::chrono::steady_clock::time_point lastReceived_{};
  std::chrono::steady_clock::time_point lastWriteProgress_{};
  std::chrono::steady_clock::time_point pingSentAt_{};
  std::chrono::milliseconds keepAlive_{0};  // in effect on this connection
  bool pingOutstanding_ = false;
  std::optional<Failure> failure_;  // set while dispatching: the connection must go
  // Guarded by ioMu_: the socket's SO_RCVLOWAT; whether publishers may raise it (the I/O thread
  // waits for acknowledgements only) and the bytes the decoder held when the I/O thread set it.
  int lowWater_ = 1;
  bool lowWaterMayRise_ = false;
  std::size_t lowWaterHave_ = 0;

  std::unique_ptr<auth::TokenFetcher> tokens_;

  // renewal.cc state. draining_ is written under mu_ by the I/O thread (publish() reads it); the
  // rest is the I/O thread's, except the token thread's hand-over (tokenMu_).
  bool draining_ = false;
  std::chrono::steady_clock::time_point drainDeadline_{};
  std::string drainReason_;
  Cause drainCause_ = Cause::Reconnecting;
  bool reconnectAtOnce_ = false;  // the next attempt follows without backoff
  std::uint64_t acksReceived_ = 0;
  std::uint64_t ackMark_ = 0;
  bool ackWatching_ = false;
  std::chrono::steady_clock::time_point ackSince_{};
  std::chrono::steady_clock::time_point nextCredentialCheck_{};
  std::vector<std::string> stamps_;          // one per credential file, as connected
  std::vector<std::string> rejectedStamps_;  // changed files already reported as not working
  bool reauthPending_ = false;
  std::chrono::steady_clock::time_point reauthDeadline_{};
  std::chrono::steady_clock::time_point nextTokenTry_{};     // after a failed fetch
  std::chrono::steady_clock::time_point nextMaintenance_{};  // maintain()'s next full pass
  std::thread tokenThread_;
  std::mutex tokenMu_;
  bool tokenDone_ = false;                 // tokenMu_
  std::optional<std::string> freshToken_;  // tokenMu_
  std::string tokenError_;                 // tokenMu_
  // Endpoints (endpoints.cc).
  std::atomic<std::size_t> endpointIndex_{0};
  std::atomic<bool> switchWanted_{false};  // the prober found the primary reachable
  std::thread prober_;
  std::mutex probeMu_;
  std::condition_variable probeCv_;
  bool probeStop_ = false;  // guarded by probeMu_
  int probeAbortFd_ = -1;

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

}  // namespace mqb::mqtt
