#pragma once
// Internal to the parsers (parse.cc, parse_publish.cc): a bounds-checked reader over a packet
// body and the MQTT 5 property block rules every parser applies.

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "mqtt/wire/property_ids.h"
#include "mqtt/wire/utf8.h"

namespace mqb::mqtt::wire::detail {

using namespace prop;

inline bool fail(std::string* error, const char* why) {
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
inline bool allowedIn(Kind k, std::uint8_t id) {
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
inline bool repeatable(std::uint8_t id) { return id == kUserProperty || id == kSubscriptionId; }

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

inline const char* noCheck(std::uint8_t /*id*/, const PropValue& /*v*/) { return nullptr; }

inline void assignOpt(std::optional<std::string>& o, std::string_view s) {
  if (o) {
    o->assign(s.data(), s.size());
  } else {
    o.emplace(s);
  }
}

}  // namespace mqb::mqtt::wire::detail
