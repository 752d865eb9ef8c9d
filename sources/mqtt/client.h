#pragma once
// The Paho MQTTAsync connection wrapper shared by the MQTT source (subscriber) and sink
// (publisher): URI, protocol version, TLS, authentication, reconnect with backoff, CONNACK limits.
//
// Threading: Paho runs every callback of every client on its two process-wide threads while
// holding its global mutex, so nothing here blocks in a callback; retries are scheduled on a Timer.

#include <MQTTAsync.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "config/model.h"
#include "metrics/route_metrics.h"
#include "sources/mqtt/timer.h"

namespace mqb::sources {

class TokenFetcher;

/// Everything one MQTT connection needs. Filled by the runtime from ConnectorSpec/RouteSpec, or by
/// tests by hand.
struct ClientOptions {
  std::string clientId;
  config::BrokerConnection broker;
  config::MqttVersion version = config::MqttVersion::V5;
  int keepAliveSeconds = 60;
  /// Persistent session: v5 cleanstart=0 + this expiry, v3 cleansession=0. Set
  /// `persistentSession=false` for a clean session (publishers do not need one).
  bool persistentSession = true;
  int sessionExpirySeconds = 3600;
  /// Upper bound of QoS>0 messages awaiting acknowledgement (the sink's window). Also sizes Paho's
  /// maxBufferedMessages.
  int maxInflight = 100;
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

/// Callbacks of one client. All run on Paho's threads (never concurrently for one client); they
/// must not block, must not throw, and must not call Client::stop().
class ClientListener {
 public:
  virtual ~ClientListener() = default;
  virtual void onConnected(const ConnectInfo& info) noexcept = 0;
  virtual void onConnectionLost() noexcept = 0;
  /// Takes ownership of `topic` and `message` (free with MQTTAsync_free/MQTTAsync_freeMessage).
  /// The default frees and ignores (publishers).
  virtual void onMessage(char* topic, int topicLen, MQTTAsync_message* message) noexcept;
};

/// The URI Paho needs: tcp|ssl|ws|wss://host:port, IPv6 literals in brackets.
std::string brokerUri(const config::BrokerConnection& broker);

/// Human name of a CONNACK / DISCONNECT / Paho return code, for logs and bounded metric labels.
std::string reasonName(int mqttReasonCode);

/// One MQTTAsync client with its connection life. Thread-safe. Not copyable.
class Client {
 public:
  /// `listener` must outlive the client (or stop() must have returned). `metrics` may be null.
  /// `timer` defaults to Timer::shared().
  Client(ClientOptions options, ClientListener* listener, metrics::ClientMetrics* metrics = nullptr,
         Timer* timer = nullptr);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Creates the Paho client and starts connecting in the background. Returns false (and logs)
  /// only if the options cannot work at all (e.g. a malformed URI); connection failures are
  /// retried forever.
  bool start();
  /// Disconnects (waiting at most `timeout` for the broker) and destroys the Paho client; start()
  /// may connect again afterwards (same options, persistent session kept). After it
  /// returns no callback runs. Idempotent. Must not be called from a Paho callback.
  void stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));

  /// The Paho handle, valid between start() and stop(); for send/subscribe calls.
  MQTTAsync handle() const noexcept { return handle_; }
  bool connected() const noexcept { return connected_.load(std::memory_order_acquire); }
  bool v5() const noexcept { return options_.version == config::MqttVersion::V5; }
  const ClientOptions& options() const noexcept { return options_; }
  /// CONNACK values of the current (or last) connection.
  ConnectInfo connectInfo() const;
  std::uint64_t connectionsForTest() const noexcept { return connections_.load(); }

 private:
  static void onConnectSuccess5(void* ctx, MQTTAsync_successData5* r);
  static void onConnectFailure5(void* ctx, MQTTAsync_failureData5* r);
  static void onConnectSuccess3(void* ctx, MQTTAsync_successData* r);
  static void onConnectFailure3(void* ctx, MQTTAsync_failureData* r);
  static void onConnectionLost(void* ctx, char* cause);
  static void onDisconnected(void* ctx, MQTTProperties* props, enum MQTTReasonCodes rc);
  static int onMessageArrived(void* ctx, char* topic, int topicLen, MQTTAsync_message* m);
  static void onDisconnectDone5(void* ctx, MQTTAsync_successData5* r);
  static void onDisconnectFail5(void* ctx, MQTTAsync_failureData5* r);
  static void onDisconnectDone3(void* ctx, MQTTAsync_successData* r);
  static void onDisconnectFail3(void* ctx, MQTTAsync_failureData* r);

  static int sslErrorThunk(const char* str, size_t len, void* u);
  void connectNow();  // timer thread
  void handleConnected(const ConnectInfo& info);
  void handleFailure(const std::string& reason, const std::string& detail);
  void handleLost(const std::string& reason);
  void scheduleReconnect();
  void setState(const std::string& state, const std::string& detail, bool failure);
  void disconnectDone();
  bool prepareTls();

  ClientOptions options_;
  ClientListener* listener_;
  metrics::ClientMetrics* metrics_;
  Timer* timer_;
  MQTTAsync handle_ = nullptr;

  std::atomic<bool> connected_{false};
  std::atomic<std::uint64_t> connections_{0};

  // Connection bookkeeping, guarded by mu_ (never held while calling Paho).
  mutable std::mutex mu_;
  ConnectInfo info_;
  std::string lastState_;
  int attempt_ = 0;
  Timer::Clock::time_point connectedAt_{};
  Timer::Id retryTimer_ = 0;
  bool closingFlag_ = false;

  // Held by the timer callback while it talks to Paho and by stop() while it closes, so stop()
  // never destroys the handle under a running connect.
  std::mutex lifeMu_;
  bool closing_ = false;

  std::mutex disconnectMu_;
  std::condition_variable disconnectCv_;
  bool disconnectDone_ = false;

  // TLS material built at connect time (temp files: CA bundle, cert + intermediate chain).
  std::string tmpDir_;
  std::string caBundle_;
  std::string keyStore_;
  std::string errorDetail_;  // last OpenSSL error line (guarded by mu_)

  std::unique_ptr<TokenFetcher> tokens_;
};

}  // namespace mqb::sources
