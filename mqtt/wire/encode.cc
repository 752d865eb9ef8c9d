// Encoders of the packets a client sends (see codec.h for each one's contract).

#include <openssl/crypto.h>

#include <algorithm>
#include <cassert>
#include <cstring>

#include "mqtt/wire/codec.h"
#include "mqtt/wire/property_ids.h"

namespace mqb::mqtt::wire {
namespace {

using namespace prop;

constexpr std::size_t kMaxString = 0xFFFF;

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
std::size_t publishPropsSize(const Properties* props, const UserProperty* extraUser,
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

}  // namespace

namespace {

/// The CONNECT's v5 property block, without its length (CONNECT is rare: built once, copied).
std::string connectProperties(const ConnectPacket& p) {
  std::string props;
  if (p.sessionExpirySeconds > 0) {
    putU8(props, kSessionExpiry);
    putU32(props, p.sessionExpirySeconds);
  }
  if (p.receiveMaximum > 0) {
    putU8(props, kReceiveMaximum);
    putU16(props, p.receiveMaximum);
  }
  if (p.maximumPacketSize > 0) {
    putU8(props, kMaximumPacketSize);
    putU32(props, p.maximumPacketSize);
  }
  if (!p.authMethod.empty()) {
    putU8(props, kAuthMethod);
    putStr(props, p.authMethod);
  }
  if (!p.authMethod.empty() && !p.authData.empty()) {
    putU8(props, kAuthData);
    putStr(props, p.authData);
  }
  return props;
}

/// A 3.1.1 password needs a user name; a v5 one does not.
bool sendsPassword(const ConnectPacket& p) {
  return p.password && (p.version == Version::V5 || p.username);
}

std::uint8_t connectFlags(const ConnectPacket& p) {
  std::uint8_t flags = 0;
  if (p.username) {
    flags |= 0x80;
  }
  if (sendsPassword(p)) {
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
  return flags;
}

}  // namespace

void encodeConnect(const ConnectPacket& p, std::string& out) {
  const bool v5 = p.version == Version::V5;
  std::string props = v5 ? connectProperties(p) : std::string();
  std::size_t remaining = 10 + strSize(p.clientId);
  if (v5) {
    remaining += varintSize(props.size()) + props.size();
  }
  if (p.will) {
    remaining += (v5 ? 1 : 0) + strSize(p.will->topic) + strSize(p.will->payload);
  }
  if (p.username) {
    remaining += strSize(*p.username);
  }
  if (sendsPassword(p)) {
    remaining += strSize(*p.password);
  }
  putHeader(out, 0x10, remaining);
  putStr(out, "MQTT");
  putU8(out, static_cast<std::uint8_t>(p.version));
  putU8(out, connectFlags(p));
  putU16(out, p.keepAliveSeconds);
  if (v5) {
    putVarint(out, props.size());
    out += props;
    OPENSSL_cleanse(props.data(), props.size());  // it may hold the authentication data
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
  if (sendsPassword(p)) {
    putStr(out, *p.password);
  }
}

std::size_t publishSize(Version v, std::string_view topic, std::size_t payloadSize,
                        std::uint8_t qos, const Properties* props, const UserProperty* extraUser,
                        std::optional<std::uint32_t> expiryOverride) {
  std::size_t remaining = strSize(topic) + (qos > 0 ? 2 : 0) + payloadSize;
  if (v == Version::V5) {
    const std::size_t p = publishPropsSize(props, extraUser, expiryOverride);
    remaining += varintSize(p) + p;
  }
  return 1 + varintSize(remaining) + remaining;
}

void encodePublish(Version v, std::string_view topic, std::string_view payload, std::uint8_t qos,
                   bool retain, bool dup, std::uint16_t packetId, const Properties* props,
                   const UserProperty* extraUser, std::optional<std::uint32_t> expiryOverride,
                   std::string& out) {
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

}  // namespace mqb::mqtt::wire
