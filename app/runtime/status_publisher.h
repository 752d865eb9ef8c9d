#pragma once
// The status topic of a connector (`statusTopic`): a client of the local broker that publishes a
// retained "online" when connected and leaves "offline" as its will (and publishes it itself on a
// clean stop), so that anyone can see whether this instance bridges. Next to it, retained on
// `<topic>/remote-endpoint`, the remote endpoint the connector's clients last connected to
// ({"endpoint":"host:port","index":N}, index 0 = `endpoint`, 1.. = failover endpoints).

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "config/model.h"
#include "mqtt/client.h"

namespace mqb::app {

/// The status topic of one instance: statusTopic, or statusTopic/<instance> when the connector
/// runs several instances (each has its own retained state and will).
std::string statusTopicFor(const config::ConnectorSpec& c, int instance);

class StatusPublisher final : private mqtt::ClientListener {
 public:
  StatusPublisher(const config::ConnectorSpec& c, int instance);
  ~StatusPublisher() override { stop(); }
  StatusPublisher(const StatusPublisher&) = delete;
  StatusPublisher& operator=(const StatusPublisher&) = delete;

  void start() { client_.start(); }
  /// Publishes "offline" if connected, then disconnects (bounded). Idempotent.
  void stop();
  const std::string& topic() const { return topic_; }

 private:
  void onConnected(const mqtt::ConnectInfo&) noexcept override;
  void onConnectionLost(const mqtt::Failure&) noexcept override {}
  void publish(std::string_view payload) noexcept;
  /// The endpoint board's news: kept, and published if connected.
  void onEndpoint(std::size_t index, const std::string& endpoint) noexcept;
  void publishEndpoint() noexcept;

  std::string topic_;
  std::string endpointTopic_;
  mqtt::Client client_;
  bool stopped_ = false;
  std::uint64_t boardSub_ = 0;
  std::mutex endpointMu_;
  std::string endpointPayload_;  // guarded by endpointMu_; "" until a remote client connected
};

/// The status publishers of every connector this instance serves.
class StatusPublishers {
 public:
  /// Keeps the publishers whose topic did not change, starts the new ones, stops the rest.
  void apply(const config::BridgeConfig& cfg, int instance);
  void clear() { byConnector_.clear(); }

 private:
  std::map<std::string, std::unique_ptr<StatusPublisher>> byConnector_;
};

}  // namespace mqb::app
