#pragma once
// The optional dead-letter topic of a connector (`deadLetterTopic`): every message set aside in a
// route's dead-letter store is also published, QoS 1, on the local broker as
// <deadLetterTopic>/<route>, with MQTT v5 user properties that say why and the connector's hop
// marker (so that its own routes do not forward them). The store stays the
// record; the topic is a notification (a message published while the local broker is away is
// not retried).

#include <memory>
#include <string>

#include "config/model.h"
#include "deadletter/route_letters.h"
#include "mqtt/client.h"

namespace mqb::app {

class DeadLetterPublisher final : private mqtt::ClientListener {
 public:
  DeadLetterPublisher(const config::ConnectorSpec& c, int instance);
  ~DeadLetterPublisher() override;
  DeadLetterPublisher(const DeadLetterPublisher&) = delete;
  DeadLetterPublisher& operator=(const DeadLetterPublisher&) = delete;

  /// Publishes `r` (thread-safe; never blocks on the network).
  void publish(const deadletter::Record& r) noexcept;

 private:
  void onConnected(const mqtt::ConnectInfo&) noexcept override {}
  void onConnectionLost(const mqtt::Failure&) noexcept override {}

  std::string topic_;
  mqtt::UserProperty marker_;  // the connector's hop marker (empty value: none)
  mqtt::Client client_;
};

/// The client ID of a connector instance's dead-letter publisher.
std::string deadLetterClientId(const config::ConnectorSpec& c, int instance);

}  // namespace mqb::app
