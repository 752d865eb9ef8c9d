#pragma once
// MQTT 5 property identifiers (section 2.2.2.2) and the wire type of each value. Internal to the
// codec (encode.cc, parse.cc).

#include <cstdint>

namespace mqb::mqtt::wire::prop {

constexpr std::uint8_t kPayloadFormat = 0x01;
constexpr std::uint8_t kMessageExpiry = 0x02;
constexpr std::uint8_t kContentType = 0x03;
constexpr std::uint8_t kResponseTopic = 0x08;
constexpr std::uint8_t kCorrelationData = 0x09;
constexpr std::uint8_t kSubscriptionId = 0x0B;
constexpr std::uint8_t kSessionExpiry = 0x11;
constexpr std::uint8_t kAssignedClientId = 0x12;
constexpr std::uint8_t kServerKeepAlive = 0x13;
constexpr std::uint8_t kAuthMethod = 0x15;
constexpr std::uint8_t kAuthData = 0x16;
constexpr std::uint8_t kRequestProblemInfo = 0x17;
constexpr std::uint8_t kWillDelay = 0x18;
constexpr std::uint8_t kRequestResponseInfo = 0x19;
constexpr std::uint8_t kResponseInfo = 0x1A;
constexpr std::uint8_t kServerReference = 0x1C;
constexpr std::uint8_t kReasonString = 0x1F;
constexpr std::uint8_t kReceiveMaximum = 0x21;
constexpr std::uint8_t kTopicAliasMaximum = 0x22;
constexpr std::uint8_t kTopicAlias = 0x23;
constexpr std::uint8_t kMaximumQos = 0x24;
constexpr std::uint8_t kRetainAvailable = 0x25;
constexpr std::uint8_t kUserProperty = 0x26;
constexpr std::uint8_t kMaximumPacketSize = 0x27;
constexpr std::uint8_t kWildcardAvailable = 0x28;
constexpr std::uint8_t kSubIdAvailable = 0x29;
constexpr std::uint8_t kSharedSubAvailable = 0x2A;

constexpr std::size_t kMaxString = 0xFFFF;

/// The wire type of a property's value.
enum class PType : std::uint8_t { Unknown, Byte, U16, U32, Varint, Str, Bin, Pair };

inline PType propType(std::uint8_t id) {
  switch (id) {
    case kPayloadFormat:
    case kRequestProblemInfo:
    case kRequestResponseInfo:
    case kMaximumQos:
    case kRetainAvailable:
    case kWildcardAvailable:
    case kSubIdAvailable:
    case kSharedSubAvailable:
      return PType::Byte;
    case kServerKeepAlive:
    case kReceiveMaximum:
    case kTopicAliasMaximum:
    case kTopicAlias:
      return PType::U16;
    case kMessageExpiry:
    case kSessionExpiry:
    case kWillDelay:
    case kMaximumPacketSize:
      return PType::U32;
    case kSubscriptionId:
      return PType::Varint;
    case kContentType:
    case kResponseTopic:
    case kAssignedClientId:
    case kAuthMethod:
    case kResponseInfo:
    case kServerReference:
    case kReasonString:
      return PType::Str;
    case kCorrelationData:
    case kAuthData:
      return PType::Bin;
    case kUserProperty:
      return PType::Pair;
    default:
      return PType::Unknown;
  }
}

}  // namespace mqb::mqtt::wire::prop
