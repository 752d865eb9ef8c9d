#pragma once
// A plain MQTT client for tests (Paho MQTTAsync with blocking, bounded helpers): publishes
// (v3.1.1/v5, properties, retain) and collects what it receives. Not the bridge's code path:
// it only shares the Paho library.

#include <MQTTAsync.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/message.h"

namespace mqb::test {

struct TestClientOptions {
  std::string uri;  ///< tcp://127.0.0.1:port, ssl://..., ws://..., wss://...
  std::string clientId = "mqb-test-client";
  bool v5 = true;
  bool cleanStart = true;  ///< false: persistent session (v5: session expiry 3600 s)
  std::string username, password;
  std::string caFile, certFile, keyFile;  ///< TLS (verify on when caFile set)
  std::string authMethod, authData;       ///< v5 enhanced authentication
};

struct ReceivedMessage {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
  pipeline::Properties props;
};

/// Thread-safe. Every blocking call has a timeout.
class TestClient {
 public:
  explicit TestClient(TestClientOptions options);
  ~TestClient();
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  /// Connects; false on refusal or timeout (reason in lastError()).
  bool connect(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  void disconnect();
  /// Subscribes and waits for the SUBACK (v5: retain-as-published on).
  bool subscribe(const std::string& filter, int qos = 1,
                 std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// Publishes one message and waits until it is acknowledged (QoS 1) or written (QoS 0).
  bool publish(const std::string& topic, const std::string& payload, int qos = 1,
               bool retain = false, const pipeline::Properties& props = {},
               std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// Publishes `count` messages "<prefix><i>" (i from `first`) and waits for all
  /// acknowledgements.
  bool publishMany(const std::string& topic, int count, const std::string& prefix = "m",
                   int qos = 1, std::chrono::milliseconds timeout = std::chrono::seconds(20),
                   int first = 0);

  /// Waits until at least `count` messages were received in total.
  bool waitForCount(std::size_t count,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  std::vector<ReceivedMessage> received() const;
  std::size_t receivedCount() const;
  void clearReceived();
  std::string lastError() const;

 private:
  static void onConnect5(void* ctx, MQTTAsync_successData5* r);
  static void onConnectFail5(void* ctx, MQTTAsync_failureData5* r);
  static void onConnect3(void* ctx, MQTTAsync_successData* r);
  static void onConnectFail3(void* ctx, MQTTAsync_failureData* r);
  static void onOk5(void* ctx, MQTTAsync_successData5* r);
  static void onFail5(void* ctx, MQTTAsync_failureData5* r);
  static void onOk3(void* ctx, MQTTAsync_successData* r);
  static void onFail3(void* ctx, MQTTAsync_failureData* r);
  static int onMessage(void* ctx, char* topic, int topicLen, MQTTAsync_message* m);
  static void onLost(void* ctx, char* cause);

  struct Op;
  bool waitOp(Op& op, std::chrono::milliseconds timeout);
  MQTTAsync_responseOptions responseFor(Op& op);

  TestClientOptions options_;
  MQTTAsync handle_ = nullptr;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<ReceivedMessage> received_;
  std::string lastError_;
  int connectState_ = 0;  // 0 pending, 1 ok, -1 failed
};

}  // namespace mqb::test
