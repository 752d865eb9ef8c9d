// Parsers of the packets a client receives (see codec.h for each one's contract). Everything a
// peer controls is checked against the MQTT 3.1.1 / 5.0 rules before it is used.

#include <algorithm>
#include <array>

#include "mqtt/wire/codec.h"
#include "mqtt/wire/reader.h"

namespace mqb::mqtt::wire {
namespace {

using namespace detail;
using namespace prop;

/// A set of reason codes, for the per-packet validity checks.
class Codes {
 public:
  constexpr Codes(std::initializer_list<std::uint8_t> codes) {
    for (auto c : codes) {
      bits_[c / 64] |= std::uint64_t{1} << (c % 64);
    }
  }
  constexpr bool has(std::uint8_t c) const { return (bits_[c / 64] >> (c % 64)) & 1; }

 private:
  std::array<std::uint64_t, 4> bits_{};
};

constexpr Codes kConnackCodes{0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
                              0x8A, 0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F};
constexpr Codes kPubackCodes{0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99};
constexpr Codes kPubrelCodes{0x00, 0x92};
constexpr Codes kSubackCodes{0x00, 0x01, 0x02, 0x80, 0x83, 0x87,
                             0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2};
constexpr Codes kV3SubackCodes{0x00, 0x01, 0x02, 0x80};
constexpr Codes kUnsubackCodes{0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91};
constexpr Codes kDisconnectCodes{0x00, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E,
                                 0x8F, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A,
                                 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2};
constexpr Codes kAuthCodes{0x00, 0x18, 0x19};

/// Reads one CONNACK property into `out`; the reason it is invalid, or null.
const char* connackProperty(std::uint8_t id, const PropValue& pv, Connack& out) {
  const char* bad = nullptr;
  switch (id) {
    case kReceiveMaximum:
      if (pv.num == 0) {
        bad = "receive maximum 0";
      }
      out.receiveMaximum = static_cast<std::uint16_t>(pv.num);
      break;
    case kMaximumPacketSize:
      if (pv.num == 0) {
        bad = "maximum packet size 0";
      }
      out.maximumPacketSize = pv.num;
      break;
    case kMaximumQos:
      if (pv.num > 1) {
        bad = "maximum qos above 1";
      }
      out.maximumQos = static_cast<std::uint8_t>(pv.num);
      break;
    case kRetainAvailable:
      if (pv.num > 1) {
        bad = "retain available above 1";
      }
      out.retainAvailable = pv.num == 1;
      break;
    case kWildcardAvailable:
    case kSubIdAvailable:
    case kSharedSubAvailable:
      if (pv.num > 1) {
        bad = "availability flag above 1";
      }
      break;
    case kTopicAliasMaximum:
      out.topicAliasMaximum = static_cast<std::uint16_t>(pv.num);
      break;
    case kServerKeepAlive:
      out.serverKeepAlive = static_cast<std::uint16_t>(pv.num);
      break;
    case kAssignedClientId:
      out.assignedClientId.assign(pv.a.data(), pv.a.size());
      break;
    case kReasonString:
      out.reasonString.assign(pv.a.data(), pv.a.size());
      break;
    case kAuthMethod:
      out.authMethod.assign(pv.a.data(), pv.a.size());
      break;
    case kAuthData:
      out.authData.assign(pv.a.data(), pv.a.size());
      break;
    default:
      break;
  }
  return bad;
}

}  // namespace

bool parseConnack(Version v, std::string_view body, Connack& out, std::string* error) {
  out = Connack{};
  Reader r(body);
  std::uint8_t flags = 0;
  if (!r.u8(flags) || !r.u8(out.reasonCode)) {
    return fail(error, "truncated connack");
  }
  if ((flags & 0xFE) != 0) {
    return fail(error, "reserved connack flags set");
  }
  out.sessionPresent = (flags & 0x01) != 0;
  // A 3.1.1-only broker answers a v5 CONNECT with its own CONNACK: two bytes, return code 1..5.
  const bool v3Answer =
      v == Version::V5 && r.left() == 0 && out.reasonCode >= 1 && out.reasonCode <= 5;
  if (v == Version::V5 && !v3Answer) {
    if (!kConnackCodes.has(out.reasonCode)) {
      return fail(error, "connack reason code not defined for CONNACK");
    }
  } else if (out.reasonCode != 0 && out.sessionPresent) {
    return fail(error, "session present with a refusing return code");
  }
  if (v == Version::V5 && r.left() > 0) {
    const bool ok = properties(r, Kind::Connack, error, [&](std::uint8_t id, const PropValue& pv) {
      return connackProperty(id, pv, out);
    });
    if (!ok) {
      return false;
    }
  }
  if (r.left() > 0) {
    return fail(error, "trailing bytes in connack");
  }
  return true;
}

bool parseAck(Version v, PacketType type, std::string_view body, std::uint16_t& packetId,
              std::uint8_t& reasonCode, std::string* error) {
  Reader r(body);
  reasonCode = 0;
  if (!r.u16(packetId)) {
    return fail(error, "truncated ack");
  }
  if (packetId == 0) {
    return fail(error, "ack packet id 0");
  }
  if (v == Version::V5 && type != PacketType::Unsuback && r.left() > 0) {
    r.u8(reasonCode);
    const Codes& valid =
        (type == PacketType::Pubrel || type == PacketType::Pubcomp) ? kPubrelCodes : kPubackCodes;
    if (!valid.has(reasonCode)) {
      return fail(error, "reason code not defined for this acknowledgement");
    }
    if (r.left() > 0 && !properties(r, Kind::Ack, error, noCheck)) {
      return false;
    }
  }
  if (r.left() > 0) {
    return fail(error, "trailing bytes in ack");
  }
  return true;
}

bool parseSuback(Version v, PacketType type, std::string_view body, std::uint16_t& packetId,
                 std::vector<std::uint8_t>& codes, std::string* error) {
  codes.clear();
  Reader r(body);
  if (!r.u16(packetId)) {
    return fail(error, "truncated suback");
  }
  if (packetId == 0) {
    return fail(error, "suback packet id 0");
  }
  if (v == Version::V5 && !properties(r, Kind::Suback, error, noCheck)) {
    return false;
  }
  const std::string_view rest = r.rest();
  if (rest.empty()) {
    return fail(error, "no reason codes");
  }
  const Codes& valid = type == PacketType::Unsuback
                           ? kUnsubackCodes
                           : (v == Version::V5 ? kSubackCodes : kV3SubackCodes);
  for (char c : rest) {
    if (!valid.has(static_cast<std::uint8_t>(c))) {
      return fail(error, "reason code not defined for this acknowledgement");
    }
  }
  codes.assign(rest.begin(), rest.end());
  return true;
}

bool parseDisconnect(Version v, std::string_view body, std::uint8_t& reasonCode,
                     std::string& reasonString, std::string* error) {
  reasonCode = 0;
  reasonString.clear();
  Reader r(body);
  if (v == Version::V5 && r.left() > 0) {
    r.u8(reasonCode);
    if (!kDisconnectCodes.has(reasonCode)) {
      return fail(error, "reason code not defined for a server's DISCONNECT");
    }
    if (r.left() > 0) {
      const bool ok =
          properties(r, Kind::Disconnect, error, [&](std::uint8_t id, const PropValue& pv) {
            if (id == kReasonString) {
              reasonString.assign(pv.a.data(), pv.a.size());
            }
            return static_cast<const char*>(nullptr);
          });
      if (!ok) {
        return false;
      }
    }
  }
  if (r.left() > 0) {
    return fail(error, "trailing bytes in disconnect");
  }
  return true;
}

bool parseAuth(std::string_view body, std::uint8_t& reasonCode, std::string& method,
               std::string& data, std::string* error) {
  reasonCode = 0;
  method.clear();
  data.clear();
  Reader r(body);
  if (r.left() > 0) {
    r.u8(reasonCode);
    if (!kAuthCodes.has(reasonCode)) {
      return fail(error, "reason code not defined for AUTH");
    }
    if (r.left() > 0) {
      const bool ok = properties(r, Kind::Auth, error, [&](std::uint8_t id, const PropValue& pv) {
        if (id == kAuthMethod) {
          method.assign(pv.a.data(), pv.a.size());
        } else if (id == kAuthData) {
          data.assign(pv.a.data(), pv.a.size());
        }
        return static_cast<const char*>(nullptr);
      });
      if (!ok) {
        return false;
      }
    }
  }
  if (r.left() > 0) {
    return fail(error, "trailing bytes in auth");
  }
  return true;
}

}  // namespace mqb::mqtt::wire
