#include "sources/mqtt/wire/codec.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace mqb::sources::wire {
namespace {

// --- MQTT 5 property identifiers (§2.2.2.2) ---
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

PType propType(std::uint8_t id) {
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

// --- writing ---

std::size_t varintSize(std::size_t v) {
  std::size_t n = 1;
  while (v >= 128) {
    v >>= 7;
    ++n;
  }
  return n;
}

/// Bytes of a string/binary field: the 2-byte length plus the (truncated) content.
std::size_t strSize(std::string_view s) { return 2 + std::min(s.size(), kMaxString); }

void putU8(std::string& out, std::uint8_t v) { out.push_back(static_cast<char>(v)); }

void putU16(std::string& out, std::uint16_t v) {
  const char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v & 0xFF)};
  out.append(b, 2);
}

void putU32(std::string& out, std::uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>((v >> 16) & 0xFF),
                     static_cast<char>((v >> 8) & 0xFF), static_cast<char>(v & 0xFF)};
  out.append(b, 4);
}

void putVarint(std::string& out, std::size_t v) {
  char b[10];
  std::size_t n = 0;
  do {
    auto byte = static_cast<std::uint8_t>(v & 0x7F);
    v >>= 7;
    if (v > 0) {
      byte = static_cast<std::uint8_t>(byte | 0x80);
    }
    b[n++] = static_cast<char>(byte);
  } while (v > 0);
  out.append(b, n);
}

void putStr(std::string& out, std::string_view s) {
  const std::size_t n = std::min(s.size(), kMaxString);
  putU16(out, static_cast<std::uint16_t>(n));
  out.append(s.data(), n);
}

/// Makes room for `n` more bytes with geometric growth (an exact reserve per packet would make
/// appending many packets to one buffer quadratic).
void grow(std::string& out, std::size_t n) {
  const std::size_t need = out.size() + n;
  if (need > out.capacity()) {
    out.reserve(std::max(need, out.capacity() * 2));
  }
}

/// Appends the fixed header (first byte + remaining length).
void putHeader(std::string& out, std::uint8_t first, std::size_t remaining) {
  grow(out, 1 + varintSize(remaining) + remaining);
  putU8(out, first);
  putVarint(out, remaining);
}

/// Writes into memory already sized by the caller (the hot path: no capacity check per field).
class Writer {
 public:
  explicit Writer(char* p) : p_(p) {}
  void u8(std::uint8_t v) { *p_++ = static_cast<char>(v); }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v & 0xFF));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v & 0xFFFF));
  }
  void varint(std::size_t v) {
    do {
      auto byte = static_cast<std::uint8_t>(v & 0x7F);
      v >>= 7;
      if (v > 0) {
        byte = static_cast<std::uint8_t>(byte | 0x80);
      }
      u8(byte);
    } while (v > 0);
  }
  void str(std::string_view s) {
    const std::size_t n = std::min(s.size(), kMaxString);
    u16(static_cast<std::uint16_t>(n));
    if (n > 0) {
      std::memcpy(p_, s.data(), n);
      p_ += n;
    }
  }
  const char* pos() const { return p_; }

 private:
  char* p_;
};

std::uint8_t clampQos(std::uint8_t qos) { return qos > 2 ? std::uint8_t{2} : qos; }

/// Size of the v5 PUBLISH property block content (without its length varint).
std::size_t publishPropsSize(const pipeline::Properties* props,
                             const pipeline::UserProperty* extraUser,
                             std::optional<std::uint32_t> expiryOverride) {
  std::size_t n = 0;
  if (expiryOverride || (props != nullptr && props->messageExpirySeconds)) {
    n += 5;
  }
  if (props != nullptr) {
    if (props->payloadFormat) {
      n += 2;
    }
    if (props->contentType) {
      n += 1 + strSize(*props->contentType);
    }
    if (props->responseTopic) {
      n += 1 + strSize(*props->responseTopic);
    }
    if (props->correlationData) {
      n += 1 + strSize(*props->correlationData);
    }
    for (const auto& u : props->user) {
      n += 1 + strSize(u.key) + strSize(u.value);
    }
  }
  if (extraUser != nullptr) {
    n += 1 + strSize(extraUser->key) + strSize(extraUser->value);
  }
  return n;
}

// --- reading ---

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

/// One decoded property value: `num` for numeric types, `a` for strings/binary, `a`/`b` for a
/// user property pair.
struct PropValue {
  std::uint32_t num = 0;
  std::string_view a;
  std::string_view b;
};

/// Reads a v5 property block (length varint + properties) from `r` and calls
/// `f(id, value) -> const char*` (nullptr = fine, otherwise the error) for each property.
template <class F>
bool forEachProperty(Reader& r, std::string* error, F&& f) {
  std::uint32_t len = 0;
  if (!r.varint(len)) {
    return fail(error, "malformed property length");
  }
  if (len > r.left()) {
    return fail(error, "property length beyond packet");
  }
  Reader pr(r.take(len));
  while (pr.left() > 0) {
    std::uint8_t id = 0;
    pr.u8(id);
    PropValue v;
    bool ok = false;
    switch (propType(id)) {
      case PType::Unknown:
        return fail(error, "unknown property id");
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
      return fail(error, "truncated property");
    }
    if (const char* why = f(id, v)) {
      return fail(error, why);
    }
  }
  return true;
}

/// Checks and skips a v5 property block.
bool skipProperties(Reader& r, std::string* error) {
  return forEachProperty(r, error,
                         [](std::uint8_t, const PropValue&) -> const char* { return nullptr; });
}

void assignOpt(std::optional<std::string>& o, std::string_view s) {
  if (o) {
    o->assign(s.data(), s.size());
  } else {
    o.emplace(s);
  }
}

}  // namespace

// --- encoders ---

void encodeConnect(const ConnectPacket& p, std::string& out) {
  const bool v5 = p.version == Version::V5;
  const bool hasPassword = p.password && (v5 || p.username);
  const bool hasAuthData = !p.authMethod.empty() && !p.authData.empty();

  std::size_t props = 0;
  if (v5) {
    if (p.sessionExpirySeconds > 0) {
      props += 5;
    }
    if (p.receiveMaximum > 0) {
      props += 3;
    }
    if (p.maximumPacketSize > 0) {
      props += 5;
    }
    if (!p.authMethod.empty()) {
      props += 1 + strSize(p.authMethod);
    }
    if (hasAuthData) {
      props += 1 + strSize(p.authData);
    }
  }
  std::size_t remaining = 10 + strSize(p.clientId);
  if (v5) {
    remaining += varintSize(props) + props;
  }
  if (p.will) {
    remaining += (v5 ? 1 : 0) + strSize(p.will->topic) + strSize(p.will->payload);
  }
  if (p.username) {
    remaining += strSize(*p.username);
  }
  if (hasPassword) {
    remaining += strSize(*p.password);
  }

  std::uint8_t flags = 0;
  if (p.username) {
    flags |= 0x80;
  }
  if (hasPassword) {
    flags |= 0x40;
  }
  if (p.will) {
    flags |= 0x04;
    flags = static_cast<std::uint8_t>(flags | (clampQos(p.will->qos) << 3));
    if (p.will->retain) {
      flags |= 0x20;
    }
  }
  if (p.cleanStart) {
    flags |= 0x02;
  }

  putHeader(out, 0x10, remaining);
  putStr(out, "MQTT");
  putU8(out, static_cast<std::uint8_t>(p.version));
  putU8(out, flags);
  putU16(out, p.keepAliveSeconds);
  if (v5) {
    putVarint(out, props);
    if (p.sessionExpirySeconds > 0) {
      putU8(out, kSessionExpiry);
      putU32(out, p.sessionExpirySeconds);
    }
    if (p.receiveMaximum > 0) {
      putU8(out, kReceiveMaximum);
      putU16(out, p.receiveMaximum);
    }
    if (p.maximumPacketSize > 0) {
      putU8(out, kMaximumPacketSize);
      putU32(out, p.maximumPacketSize);
    }
    if (!p.authMethod.empty()) {
      putU8(out, kAuthMethod);
      putStr(out, p.authMethod);
    }
    if (hasAuthData) {
      putU8(out, kAuthData);
      putStr(out, p.authData);
    }
  }
  putStr(out, p.clientId);
  if (p.will) {
    if (v5) {
      putU8(out, 0);  // empty will properties
    }
    putStr(out, p.will->topic);
    putStr(out, p.will->payload);
  }
  if (p.username) {
    putStr(out, *p.username);
  }
  if (hasPassword) {
    putStr(out, *p.password);
  }
}

std::size_t publishSize(Version v, std::string_view topic, std::size_t payloadSize,
                        std::uint8_t qos, const pipeline::Properties* props,
                        const pipeline::UserProperty* extraUser,
                        std::optional<std::uint32_t> expiryOverride) {
  std::size_t remaining = strSize(topic) + (qos > 0 ? 2 : 0) + payloadSize;
  if (v == Version::V5) {
    const std::size_t p = publishPropsSize(props, extraUser, expiryOverride);
    remaining += varintSize(p) + p;
  }
  return 1 + varintSize(remaining) + remaining;
}

void encodePublish(Version v, std::string_view topic, std::string_view payload, std::uint8_t qos,
                   bool retain, bool dup, std::uint16_t packetId, const pipeline::Properties* props,
                   const pipeline::UserProperty* extraUser,
                   std::optional<std::uint32_t> expiryOverride, std::string& out) {
  qos = clampQos(qos);
  const bool v5 = v == Version::V5;
  const std::size_t propsLen = v5 ? publishPropsSize(props, extraUser, expiryOverride) : 0;
  std::size_t remaining = strSize(topic) + (qos > 0 ? 2 : 0) + payload.size();
  if (v5) {
    remaining += varintSize(propsLen) + propsLen;
  }
  std::uint8_t first = static_cast<std::uint8_t>(0x30 | (qos << 1));
  if (dup && qos > 0) {
    first |= 0x08;
  }
  if (retain) {
    first |= 0x01;
  }
  // Everything but the payload is written through a raw pointer into space made once; the payload
  // is appended last (no zero-fill of its bytes).
  const std::size_t head = 1 + varintSize(remaining) + remaining - payload.size();
  const std::size_t at = out.size();
  grow(out, head + payload.size());
  out.resize(at + head);
  Writer w(out.data() + at);
  w.u8(first);
  w.varint(remaining);
  w.str(topic);
  if (qos > 0) {
    w.u16(packetId);
  }
  if (v5) {
    w.varint(propsLen);
    if (props != nullptr && props->payloadFormat) {
      w.u8(kPayloadFormat);
      w.u8(*props->payloadFormat);
    }
    if (expiryOverride || (props != nullptr && props->messageExpirySeconds)) {
      w.u8(kMessageExpiry);
      w.u32(expiryOverride ? *expiryOverride : *props->messageExpirySeconds);
    }
    if (props != nullptr) {
      if (props->contentType) {
        w.u8(kContentType);
        w.str(*props->contentType);
      }
      if (props->responseTopic) {
        w.u8(kResponseTopic);
        w.str(*props->responseTopic);
      }
      if (props->correlationData) {
        w.u8(kCorrelationData);
        w.str(*props->correlationData);
      }
      for (const auto& u : props->user) {
        w.u8(kUserProperty);
        w.str(u.key);
        w.str(u.value);
      }
    }
    if (extraUser != nullptr) {
      w.u8(kUserProperty);
      w.str(extraUser->key);
      w.str(extraUser->value);
    }
  }
  assert(w.pos() == out.data() + out.size());  // the size computation matches what was written
  out.append(payload.data(), payload.size());
}

void encodeAck(Version v, PacketType type, std::uint16_t packetId, std::uint8_t reasonCode,
               std::string& out) {
  const bool withReason = v == Version::V5 && reasonCode != 0;
  auto first = static_cast<std::uint8_t>(static_cast<std::uint8_t>(type) << 4);
  if (type == PacketType::Pubrel) {
    first |= 0x02;
  }
  putHeader(out, first, withReason ? 3 : 2);
  putU16(out, packetId);
  if (withReason) {
    putU8(out, reasonCode);
  }
}

void encodeSubscribe(Version v, std::uint16_t packetId, std::string_view filter,
                     const SubscribeOptions& o, std::string& out) {
  const bool v5 = v == Version::V5;
  auto options = clampQos(o.qos);
  if (v5) {
    options = static_cast<std::uint8_t>(options | (o.noLocal ? 0x04 : 0) |
                                        (o.retainAsPublished ? 0x08 : 0) |
                                        ((o.retainHandling & 0x03) << 4));
  }
  putHeader(out, 0x82, 2 + (v5 ? 1 : 0) + strSize(filter) + 1);
  putU16(out, packetId);
  if (v5) {
    putU8(out, 0);
  }
  putStr(out, filter);
  putU8(out, options);
}

void encodeUnsubscribe(Version v, std::uint16_t packetId, std::string_view filter,
                       std::string& out) {
  const bool v5 = v == Version::V5;
  putHeader(out, 0xA2, 2 + (v5 ? 1 : 0) + strSize(filter));
  putU16(out, packetId);
  if (v5) {
    putU8(out, 0);
  }
  putStr(out, filter);
}

void encodePingreq(std::string& out) { out.append("\xC0\x00", 2); }

void encodeDisconnect(Version v, std::uint8_t reasonCode,
                      std::optional<std::uint32_t> sessionExpiry, std::string& out) {
  if (v != Version::V5) {
    out.append("\xE0\x00", 2);
    return;
  }
  if (!sessionExpiry) {
    putHeader(out, 0xE0, 1);
    putU8(out, reasonCode);
    return;
  }
  putHeader(out, 0xE0, 1 + 1 + 5);
  putU8(out, reasonCode);
  putU8(out, 5);
  putU8(out, kSessionExpiry);
  putU32(out, *sessionExpiry);
}

void encodeAuth(std::uint8_t reasonCode, std::string_view method, std::string_view data,
                std::string& out) {
  std::size_t props = 0;
  if (!method.empty()) {
    props += 1 + strSize(method);
  }
  if (!data.empty()) {
    props += 1 + strSize(data);
  }
  putHeader(out, 0xF0, 1 + varintSize(props) + props);
  putU8(out, reasonCode);
  putVarint(out, props);
  if (!method.empty()) {
    putU8(out, kAuthMethod);
    putStr(out, method);
  }
  if (!data.empty()) {
    putU8(out, kAuthData);
    putStr(out, data);
  }
}

// --- Decoder ---

Decoder::Decoder(std::size_t maxPacketSize) : maxPacketSize_(maxPacketSize) {}

void Decoder::compact() {
  if (pos_ == 0) {
    return;
  }
  if (pos_ >= buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
}

void Decoder::feed(const char* data, std::size_t n) {
  compact();
  buf_.append(data, n);
}

std::string& Decoder::buffer() {
  compact();
  return buf_;
}

Decoder::Status Decoder::next(Packet& out) {
  if (!error_.empty()) {
    return Status::Error;
  }
  const std::size_t avail = buf_.size() - pos_;
  if (avail == 0) {
    return Status::NeedMore;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + pos_);
  const std::uint8_t first = p[0];
  if ((first >> 4) == 0) {
    error_ = "reserved packet type 0";
    return Status::Error;
  }
  std::size_t remaining = 0;
  std::size_t i = 1;
  for (;; ++i) {
    if (i > 4) {
      error_ = "malformed remaining length";
      return Status::Error;
    }
    if (i >= avail) {
      return Status::NeedMore;
    }
    remaining |= static_cast<std::size_t>(p[i] & 0x7F) << (7 * (i - 1));
    if ((p[i] & 0x80) == 0) {
      break;
    }
  }
  const std::size_t total = i + 1 + remaining;
  if (total > maxPacketSize_) {
    error_ = "packet too large";
    return Status::Error;
  }
  if (avail < total) {
    return Status::NeedMore;
  }
  out.type = static_cast<PacketType>(first >> 4);
  out.flags = static_cast<std::uint8_t>(first & 0x0F);
  out.body = std::string_view(buf_.data() + pos_ + i + 1, remaining);
  pos_ += total;
  return Status::Ok;
}

const std::string& Decoder::error() const { return error_; }

std::size_t Decoder::buffered() const { return buf_.size() - pos_; }

void Decoder::reset() {
  buf_.clear();
  pos_ = 0;
  error_.clear();
}

// --- parsers ---

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
  if (v == Version::V5 && r.left() > 0) {
    const bool ok =
        forEachProperty(r, error, [&](std::uint8_t id, const PropValue& pv) -> const char* {
          switch (id) {
            case kReceiveMaximum:
              if (pv.num == 0) {
                return "receive maximum 0";
              }
              out.receiveMaximum = static_cast<std::uint16_t>(pv.num);
              break;
            case kMaximumPacketSize:
              if (pv.num == 0) {
                return "maximum packet size 0";
              }
              out.maximumPacketSize = pv.num;
              break;
            case kMaximumQos:
              if (pv.num > 1) {
                return "maximum qos above 1";
              }
              out.maximumQos = static_cast<std::uint8_t>(pv.num);
              break;
            case kRetainAvailable:
              if (pv.num > 1) {
                return "retain available above 1";
              }
              out.retainAvailable = pv.num == 1;
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
          return nullptr;
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

bool parsePublish(Version v, std::uint8_t flags, std::string_view body, pipeline::Message& m,
                  std::uint16_t& packetId, bool& dup, std::uint16_t* topicAlias,
                  std::string* error) {
  const auto qos = static_cast<std::uint8_t>((flags >> 1) & 0x03);
  if (qos == 3) {
    return fail(error, "publish qos 3");
  }
  if (topicAlias != nullptr) {
    *topicAlias = 0;
  }
  Reader r(body);
  std::string_view topic;
  if (!r.str(topic)) {
    return fail(error, "truncated publish topic");
  }
  packetId = 0;
  if (qos > 0) {
    if (!r.u16(packetId)) {
      return fail(error, "truncated publish packet id");
    }
    if (packetId == 0) {
      return fail(error, "publish packet id 0");
    }
  }
  std::uint16_t alias = 0;
  pipeline::Properties& props = m.props;
  std::size_t users = 0;
  // Which optional properties this packet carried; the others are reset afterwards (resetting
  // them first would free the strings a recycled Message could reuse).
  bool hasFormat = false, hasExpiry = false, hasType = false, hasResponse = false, hasCorr = false;
  if (v == Version::V5) {
    const bool ok =
        forEachProperty(r, error, [&](std::uint8_t id, const PropValue& pv) -> const char* {
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
              alias = static_cast<std::uint16_t>(pv.num);
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
            default:  // subscription identifiers and anything not forwarded
              break;
          }
          return nullptr;
        });
    if (!ok) {
      return false;
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
  if (topic.empty() && alias == 0) {
    return fail(error, "empty publish topic without topic alias");
  }
  if (topicAlias != nullptr) {
    *topicAlias = alias;
  }
  const std::string_view payload = r.rest();
  m.topic.assign(topic.data(), topic.size());
  m.payload.assign(payload.data(), payload.size());
  m.qos = qos;
  m.retain = (flags & 0x01) != 0;
  dup = (flags & 0x08) != 0;
  return true;
}

bool parseAck(Version v, std::string_view body, std::uint16_t& packetId, std::uint8_t& reasonCode,
              std::string* error) {
  Reader r(body);
  reasonCode = 0;
  if (!r.u16(packetId)) {
    return fail(error, "truncated ack");
  }
  if (packetId == 0) {
    return fail(error, "ack packet id 0");
  }
  if (v == Version::V5 && r.left() > 0) {
    r.u8(reasonCode);
    if (r.left() > 0 && !skipProperties(r, error)) {
      return false;
    }
  }
  if (r.left() > 0) {
    return fail(error, "trailing bytes in ack");
  }
  return true;
}

bool parseSuback(Version v, std::string_view body, std::uint16_t& packetId,
                 std::vector<std::uint8_t>& codes, std::string* error) {
  codes.clear();
  Reader r(body);
  if (!r.u16(packetId)) {
    return fail(error, "truncated suback");
  }
  if (packetId == 0) {
    return fail(error, "suback packet id 0");
  }
  if (v == Version::V5 && !skipProperties(r, error)) {
    return false;
  }
  const std::string_view rest = r.rest();
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
    if (r.left() > 0) {
      const bool ok =
          forEachProperty(r, error, [&](std::uint8_t id, const PropValue& pv) -> const char* {
            if (id == kReasonString) {
              reasonString.assign(pv.a.data(), pv.a.size());
            }
            return nullptr;
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
    if (r.left() > 0) {
      const bool ok =
          forEachProperty(r, error, [&](std::uint8_t id, const PropValue& pv) -> const char* {
            if (id == kAuthMethod) {
              method.assign(pv.a.data(), pv.a.size());
            } else if (id == kAuthData) {
              data.assign(pv.a.data(), pv.a.size());
            }
            return nullptr;
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

// --- names ---

std::string reasonName(std::uint8_t code) {
  switch (code) {
    case 0x00:
      return "normal_disconnection";
    case 0x01:
      return "granted_qos_1";
    case 0x02:
      return "granted_qos_2";
    case 0x04:
      return "disconnect_with_will_message";
    case 0x10:
      return "no_matching_subscribers";
    case 0x11:
      return "no_subscription_found";
    case 0x18:
      return "continue_authentication";
    case 0x19:
      return "re_authenticate";
    case 0x80:
      return "unspecified_error";
    case 0x81:
      return "malformed_packet";
    case 0x82:
      return "protocol_error";
    case 0x83:
      return "implementation_specific_error";
    case 0x84:
      return "unsupported_protocol_version";
    case 0x85:
      return "client_identifier_not_valid";
    case 0x86:
      return "bad_user_name_or_password";
    case 0x87:
      return "not_authorized";
    case 0x88:
      return "server_unavailable";
    case 0x89:
      return "server_busy";
    case 0x8A:
      return "banned";
    case 0x8B:
      return "server_shutting_down";
    case 0x8C:
      return "bad_authentication_method";
    case 0x8D:
      return "keep_alive_timeout";
    case 0x8E:
      return "session_taken_over";
    case 0x8F:
      return "topic_filter_invalid";
    case 0x90:
      return "topic_name_invalid";
    case 0x91:
      return "packet_identifier_in_use";
    case 0x92:
      return "packet_identifier_not_found";
    case 0x93:
      return "receive_maximum_exceeded";
    case 0x94:
      return "topic_alias_invalid";
    case 0x95:
      return "packet_too_large";
    case 0x96:
      return "message_rate_too_high";
    case 0x97:
      return "quota_exceeded";
    case 0x98:
      return "administrative_action";
    case 0x99:
      return "payload_format_invalid";
    case 0x9A:
      return "retain_not_supported";
    case 0x9B:
      return "qos_not_supported";
    case 0x9C:
      return "use_another_server";
    case 0x9D:
      return "server_moved";
    case 0x9E:
      return "shared_subscriptions_not_supported";
    case 0x9F:
      return "connection_rate_exceeded";
    case 0xA0:
      return "maximum_connect_time";
    case 0xA1:
      return "subscription_identifiers_not_supported";
    case 0xA2:
      return "wildcard_subscriptions_not_supported";
    default:
      return "reason_" + std::to_string(code);
  }
}

std::string v3ConnackName(std::uint8_t code) {
  switch (code) {
    case 0:
      return "accepted";
    case 1:
      return "unacceptable_protocol_version";
    case 2:
      return "identifier_rejected";
    case 3:
      return "server_unavailable";
    case 4:
      return "bad_username_or_password";
    case 5:
      return "not_authorized";
    default:
      return "return_code_" + std::to_string(code);
  }
}

}  // namespace mqb::sources::wire
