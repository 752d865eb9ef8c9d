// Parsers of the packets a client receives (see codec.h for each one's contract). Everything a
// peer controls is checked against the MQTT 3.1.1 / 5.0 rules before it is used.

#include <algorithm>
#include <array>
#include <bitset>

#include "mqtt/wire/codec.h"
#include "mqtt/wire/property_ids.h"
#include "mqtt/wire/utf8.h"

namespace mqb::mqtt::wire {
namespace {

using namespace prop;

bool fail(std::string* error, const char* why) {
  if (error != nullptr) {
    *error = why;
  }
  return false;
}

/// Bounds-checked big-endian reader over a byte range.
class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  std::size_t left() const { return b_.size() - i_; }
  bool u8(std::uint8_t& v) {
    if (left() < 1) {
      return false;
    }
    v = byte(i_++);
    return true;
  }
  bool u16(std::uint16_t& v) {
    if (left() < 2) {
      return false;
    }
    v = static_cast<std::uint16_t>((byte(i_) << 8) | byte(i_ + 1));
    i_ += 2;
    return true;
  }
  bool u32(std::uint32_t& v) {
    if (left() < 4) {
      return false;
    }
    v = (static_cast<std::uint32_t>(byte(i_)) << 24) |
        (static_cast<std::uint32_t>(byte(i_ + 1)) << 16) |
        (static_cast<std::uint32_t>(byte(i_ + 2)) << 8) | static_cast<std::uint32_t>(byte(i_ + 3));
    i_ += 4;
    return true;
  }
  /// A Variable Byte Integer of at most 4 bytes.
  bool varint(std::uint32_t& v) {
    std::uint32_t val = 0;
    for (unsigned k = 0; k < 4; ++k) {
      std::uint8_t b = 0;
      if (!u8(b)) {
        return false;
      }
      val |= static_cast<std::uint32_t>(b & 0x7F) << (7 * k);
      if ((b & 0x80) == 0) {
        v = val;
        return true;
      }
    }
    return false;
  }
  /// A UTF-8 string or binary data: 2-byte length + bytes (content not validated).
  bool str(std::string_view& s) {
    std::uint16_t n = 0;
    if (!u16(n) || left() < n) {
      return false;
    }
    s = b_.substr(i_, n);
    i_ += n;
    return true;
  }
  /// The next `n` bytes (n <= left()).
  std::string_view take(std::size_t n) {
    std::string_view s = b_.substr(i_, n);
    i_ += s.size();
    return s;
  }
  std::string_view rest() { return take(left()); }

 private:
  std::uint8_t byte(std::size_t at) const { return static_cast<std::uint8_t>(b_[at]); }
  std::string_view b_;
  std::size_t i_ = 0;
};

/// The packet types whose properties a client reads, for the per-type property rules.
enum class Kind : std::uint8_t { Connack, Publish, Ack, Suback, Disconnect, Auth };

/// May a property with this id appear in a packet of this kind, as the server sends it (MQTT 5
/// section 3.x.2.2 of each packet)?
bool allowedIn(Kind k, std::uint8_t id) {
  if (id == kUserProperty || id == kReasonString) {
    return k != Kind::Publish || id == kUserProperty;
  }
  switch (k) {
    case Kind::Connack:
      switch (id) {
        case kSessionExpiry:
        case kReceiveMaximum:
        case kMaximumQos:
        case kRetainAvailable:
        case kMaximumPacketSize:
        case kAssignedClientId:
        case kTopicAliasMaximum:
        case kWildcardAvailable:
        case kSubIdAvailable:
        case kSharedSubAvailable:
        case kServerKeepAlive:
        case kResponseInfo:
        case kServerReference:
        case kAuthMethod:
        case kAuthData:
          return true;
        default:
          return false;
      }
    case Kind::Publish:
      switch (id) {
        case kPayloadFormat:
        case kMessageExpiry:
        case kTopicAlias:
        case kResponseTopic:
        case kCorrelationData:
        case kSubscriptionId:
        case kContentType:
          return true;
        default:
          return false;
      }
    case Kind::Ack:
    case Kind::Suback:
      return false;
    case Kind::Disconnect:
      return id == kServerReference;  // a server never sends SESSION_EXPIRY_INTERVAL here
    case Kind::Auth:
      return id == kAuthMethod || id == kAuthData;
  }
  return false;
}

/// Properties that may appear more than once in one packet.
bool repeatable(std::uint8_t id) { return id == kUserProperty || id == kSubscriptionId; }

/// One decoded property value: `num` for numeric types, `a` for strings/binary, `a`/`b` for a
/// user property pair.
struct PropValue {
  std::uint32_t num = 0;
  std::string_view a;
  std::string_view b;
};

/// How a property block turned out.
enum class Props : std::uint8_t {
  Ok,
  Malformed,  ///< the block does not parse: its framing cannot be trusted
  Invalid,    ///< it parses, but a property breaks a rule (the first one is in *error)
};

/// Reads a v5 property block (length varint + properties) from `r` and calls
/// `f(id, value) -> const char*` (nullptr = fine, otherwise what is wrong) for each property
/// that passes the generic rules: allowed in `kind`, not repeated unless repeatable, strings
/// valid MQTT UTF-8. Framing errors stop at once (Malformed); a broken rule is remembered and
/// the block read to its end (Invalid), so that what follows the block can still be read.
template <class F>
Props readProperties(Reader& r, Kind kind, std::string* error, F&& f) {
  std::uint32_t len = 0;
  if (!r.varint(len)) {
    fail(error, "malformed property length");
    return Props::Malformed;
  }
  if (len > r.left()) {
    fail(error, "property length beyond packet");
    return Props::Malformed;
  }
  Reader pr(r.take(len));
  std::bitset<256> seen;
  const char* invalid = nullptr;
  while (pr.left() > 0) {
    std::uint8_t id = 0;
    pr.u8(id);
    PropValue v;
    bool ok = false;
    switch (propType(id)) {
      case PType::Unknown:
        fail(error, "unknown property id");
        return Props::Malformed;  // its length is unknown: nothing after it can be read
      case PType::Byte: {
        std::uint8_t x = 0;
        ok = pr.u8(x);
        v.num = x;
        break;
      }
      case PType::U16: {
        std::uint16_t x = 0;
        ok = pr.u16(x);
        v.num = x;
        break;
      }
      case PType::U32:
        ok = pr.u32(v.num);
        break;
      case PType::Varint:
        ok = pr.varint(v.num);
        break;
      case PType::Str:
      case PType::Bin:
        ok = pr.str(v.a);
        break;
      case PType::Pair:
        ok = pr.str(v.a) && pr.str(v.b);
        break;
    }
    if (!ok) {
      fail(error, "truncated property");
      return Props::Malformed;
    }
    if (invalid != nullptr) {
      continue;  // already invalid: only the framing of the rest matters
    }
    const PType t = propType(id);
    if (!allowedIn(kind, id)) {
      invalid = "property not allowed in this packet";
    } else if (seen[id] && !repeatable(id)) {
      invalid = "property given twice";
    } else if ((t == PType::Str || t == PType::Pair) &&
               (!validMqttUtf8(v.a) || (t == PType::Pair && !validMqttUtf8(v.b)))) {
      invalid = "property string is not valid UTF-8";
    } else {
      invalid = f(id, v);
    }
    seen[id] = true;
  }
  if (invalid != nullptr) {
    fail(error, invalid);
    return Props::Invalid;
  }
  return Props::Ok;
}

/// readProperties for packets where any problem ends the connection.
template <class F>
bool properties(Reader& r, Kind kind, std::string* error, F&& f) {
  return readProperties(r, kind, error, std::forward<F>(f)) == Props::Ok;
}

const char* noCheck(std::uint8_t /*id*/, const PropValue& /*v*/) { return nullptr; }

void assignOpt(std::optional<std::string>& o, std::string_view s) {
  if (o) {
    o->assign(s.data(), s.size());
  } else {
    o.emplace(s);
  }
}

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

bool parsePublishHead(std::uint8_t flags, std::string_view head, std::string& topic,
                      PublishHeader& header, std::string* error) {
  header = PublishHeader{};
  header.qos = static_cast<std::uint8_t>((flags >> 1) & 0x03);
  header.dup = (flags & 0x08) != 0;
  if (header.qos == 3) {
    return fail(error, "publish qos 3");
  }
  Reader r(head);
  std::string_view t;
  if (!r.str(t)) {
    return fail(error, "truncated publish topic");
  }
  if (header.qos > 0) {
    if (!r.u16(header.packetId)) {
      return fail(error, "truncated publish packet id");
    }
    if (header.packetId == 0) {
      return fail(error, "publish packet id 0");
    }
  }
  topic.assign(t.data(), t.size());
  return true;
}

PublishStatus parsePublish(Version v, std::uint8_t flags, std::string_view body, Message& m,
                           PublishHeader& header, std::string* error) {
  header = PublishHeader{};
  header.qos = static_cast<std::uint8_t>((flags >> 1) & 0x03);
  header.dup = (flags & 0x08) != 0;
  if (header.qos == 3) {
    fail(error, "publish qos 3");
    return PublishStatus::Malformed;
  }
  if (header.qos == 0 && header.dup) {
    fail(error, "dup flag on a qos 0 publish");  // [MQTT-3.3.1-2]
    return PublishStatus::Malformed;
  }
  Reader r(body);
  std::string_view topic;
  if (!r.str(topic)) {
    fail(error, "truncated publish topic");
    return PublishStatus::Malformed;
  }
  if (header.qos > 0) {
    if (!r.u16(header.packetId)) {
      fail(error, "truncated publish packet id");
      return PublishStatus::Malformed;
    }
    if (header.packetId == 0) {
      fail(error, "publish packet id 0");
      return PublishStatus::Malformed;
    }
  }
  Properties& props = m.props;
  std::size_t users = 0;
  // Which optional properties this packet carried; the others are reset afterwards (resetting
  // them first would free the strings a recycled Message could reuse).
  bool hasFormat = false, hasExpiry = false, hasType = false, hasResponse = false, hasCorr = false;
  Props propStatus = Props::Ok;
  if (v == Version::V5) {
    propStatus = readProperties(r, Kind::Publish, error, [&](std::uint8_t id, const PropValue& pv) {
      switch (id) {
        case kPayloadFormat:
          if (pv.num > 1) {
            return "payload format above 1";
          }
          props.payloadFormat = static_cast<std::uint8_t>(pv.num);
          hasFormat = true;
          break;
        case kMessageExpiry:
          props.messageExpirySeconds = pv.num;
          hasExpiry = true;
          break;
        case kContentType:
          assignOpt(props.contentType, pv.a);
          hasType = true;
          break;
        case kResponseTopic:
          if (!validTopicName(pv.a)) {
            return "response topic is not a valid topic name";
          }
          assignOpt(props.responseTopic, pv.a);
          hasResponse = true;
          break;
        case kCorrelationData:
          assignOpt(props.correlationData, pv.a);
          hasCorr = true;
          break;
        case kTopicAlias:
          if (pv.num == 0) {
            return "topic alias 0";
          }
          header.topicAlias = static_cast<std::uint16_t>(pv.num);
          break;
        case kSubscriptionId:
          if (pv.num == 0) {
            return "subscription identifier 0";
          }
          break;
        case kUserProperty:
          // Reuses the strings of a recycled Message's user properties.
          if (users < props.user.size()) {
            props.user[users].key.assign(pv.a.data(), pv.a.size());
            props.user[users].value.assign(pv.b.data(), pv.b.size());
          } else {
            props.user.push_back({std::string(pv.a), std::string(pv.b)});
          }
          ++users;
          break;
        default:
          break;
      }
      return static_cast<const char*>(nullptr);
    });
    if (propStatus == Props::Malformed) {
      return PublishStatus::Malformed;
    }
  }
  props.user.resize(users);
  if (!hasFormat) {
    props.payloadFormat.reset();
  }
  if (!hasExpiry) {
    props.messageExpirySeconds.reset();
  }
  if (!hasType) {
    props.contentType.reset();
  }
  if (!hasResponse) {
    props.responseTopic.reset();
  }
  if (!hasCorr) {
    props.correlationData.reset();
  }
  const std::string_view payload = r.rest();
  m.topic.assign(topic.data(), topic.size());
  m.payload.assign(payload.data(), payload.size());
  m.qos = header.qos;
  m.retain = (flags & 0x01) != 0;
  if (propStatus == Props::Invalid) {
    return PublishStatus::InvalidProperties;
  }
  if (hasFormat && *props.payloadFormat == 1 && !validUtf8(payload, /*allowNul=*/true)) {
    fail(error, "payload is not UTF-8 as its payload format indicator says");
    return PublishStatus::InvalidProperties;
  }
  const bool topicOk = topic.empty() ? header.topicAlias != 0 : validTopicName(topic);
  if (!topicOk) {
    fail(error, topic.empty() ? "empty topic without topic alias" : "invalid topic name");
    return PublishStatus::InvalidTopic;
  }
  return PublishStatus::Ok;
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
