#pragma once
// An application message as MQTT carries it: topic, payload, QoS, retain flag and the v5 PUBLISH
// properties a bridge forwards. Plain data, no behaviour: what the codec decodes a PUBLISH into
// and what a client publishes from.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mqb::mqtt {

struct UserProperty {
  std::string key;
  std::string value;
  bool operator==(const UserProperty&) const = default;
};

/// MQTT v5 PUBLISH properties that travel with a message end to end. Per-hop properties (topic
/// alias, subscription identifier) are deliberately absent.
struct Properties {
  std::vector<UserProperty> user;  ///< in order, duplicates allowed
  std::optional<std::string> contentType;
  std::optional<std::uint8_t> payloadFormat;  ///< 0 = bytes, 1 = UTF-8
  std::optional<std::uint32_t> messageExpirySeconds;
  std::optional<std::string> responseTopic;
  std::optional<std::string> correlationData;  ///< binary
  bool empty() const noexcept {
    return user.empty() && !contentType && !payloadFormat && !messageExpirySeconds &&
           !responseTopic && !correlationData;
  }
  bool operator==(const Properties&) const = default;
};

/// One application message. `topic` is a valid MQTT topic name once the codec accepted it
/// (UTF-8, no wildcards, no U+0000); a message the codec refused keeps its raw bytes there.
struct Message {
  std::string topic;
  std::string payload;  ///< exact bytes (may be empty or binary)
  std::uint8_t qos = 0;
  bool retain = false;
  Properties props;
};

}  // namespace mqb::mqtt
