// libFuzzer target: the MQTT packet codec (mqtt/wire/codec.h) on arbitrary bytes.
// The input is a byte stream from a broker. It is framed twice by the Decoder: once in one piece
// and once in chunks whose sizes come from a hash of the input (alternating feed() and direct
// buffer() appends); both must yield the same packets (an oversized PUBLISH as the same head) and
// end the same way. Every packet body is handed to every parser with both protocol versions;
// whatever parses must be consistent: a parsed PUBLISH re-encodes to exactly publishSize() bytes
// and parses back to the same message, a parsed AUTH re-encodes and parses back the same. The raw
// input is also handed to the parsers directly (first byte = fixed-header flags), and slices of it
// drive the encoders, whose output must frame as exactly one packet.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mqtt/wire/codec.h"
#include "mqtt/wire/utf8.h"
#include "tests/fuzz/fuzz_check.h"

using mqb::fuzz::check;
using namespace mqb::mqtt::wire;

namespace {

struct Owned {
  PacketType type;
  std::uint8_t flags;
  std::string body;
  bool oversized = false;
  bool operator==(const Owned&) const = default;
};

/// The single packet framed from `bytes` (which must be exactly one packet).
Owned frameOne(const std::string& bytes) {
  Decoder d;
  d.feed(bytes.data(), bytes.size());
  Packet p;
  check(d.next(p) == Decoder::Status::Ok);
  Owned o{p.type, p.flags, std::string(p.body)};
  check(d.next(p) == Decoder::Status::NeedMore && d.buffered() == 0);
  return o;
}

void checkPublishRoundTrip(Version v, const mqb::mqtt::Message& m, const PublishHeader& h) {
  if (m.topic.empty()) {
    return;  // only valid with the alias, which encodePublish does not write
  }
  std::string out;
  encodePublish(v, m.topic, m.payload, m.qos, m.retain, h.dup, h.packetId, &m.props, nullptr,
                std::nullopt, out);
  check(out.size() ==
        publishSize(v, m.topic, m.payload.size(), m.qos, &m.props, nullptr, std::nullopt));
  const Owned o = frameOne(out);
  check(o.type == PacketType::Publish);
  mqb::mqtt::Message again;
  PublishHeader h2;
  h2.topicAlias = 1;
  std::string err;
  check(parsePublish(v, o.flags, o.body, again, h2, &err) == PublishStatus::Ok);
  check(again.topic == m.topic && again.payload == m.payload && again.qos == m.qos &&
        again.retain == m.retain && again.props == m.props && h2.packetId == h.packetId &&
        h2.topicAlias == 0);
  check(m.qos == 0 ? !h2.dup : h2.dup == h.dup);
}

/// Every parser on one body, both versions.
void parseAll(PacketType type, std::uint8_t flags, std::string_view body) {
  for (Version v : {Version::V311, Version::V5}) {
    std::string err;
    Connack c;
    if (!parseConnack(v, body, c, &err)) {
      check(!err.empty());
    } else {
      check(c.maximumQos <= 2 && c.receiveMaximum > 0);
    }

    mqb::mqtt::Message m;
    PublishHeader h;
    err.clear();
    const PublishStatus st = parsePublish(v, flags, body, m, h, &err);
    if (st == PublishStatus::Ok) {
      check(m.qos <= 2 && (m.qos == 0) == (h.packetId == 0) &&
            (!m.topic.empty() || h.topicAlias != 0));
      check(m.topic.empty() || validTopicName(m.topic));
      check(v == Version::V5 || m.props.empty());
      checkPublishRoundTrip(v, m, h);
    } else {
      check(!err.empty());
      // Set aside, not dropped: the framing held, so the packet id is known.
      check(st == PublishStatus::Malformed || h.qos == 0 || h.packetId != 0);
    }

    std::uint16_t id = 0;
    std::uint8_t rc = 0;
    for (PacketType t : {PacketType::Puback, PacketType::Pubrec, PacketType::Pubrel,
                         PacketType::Pubcomp, PacketType::Unsuback}) {
      err.clear();
      if (!parseAck(v, t, body, id, rc, &err)) {
        check(!err.empty());
      } else {
        check(id != 0);
      }
    }

    std::vector<std::uint8_t> codes;
    for (PacketType t : {PacketType::Suback, PacketType::Unsuback}) {
      err.clear();
      if (!parseSuback(v, t, body, id, codes, &err)) {
        check(!err.empty());
      } else {
        check(!codes.empty() && codes.size() <= body.size());
      }
    }

    std::string why;
    err.clear();
    if (!parseDisconnect(v, body, rc, why, &err)) {
      check(!err.empty());
    } else {
      check(why.size() <= body.size());
    }
  }
  std::uint8_t rc = 0;
  std::string method, data, err;
  if (parseAuth(body, rc, method, data, &err)) {
    std::string out;
    encodeAuth(rc, method, data, out);
    const Owned o = frameOne(out);
    std::uint8_t rc2 = 0;
    std::string method2, data2;
    check(o.type == PacketType::Auth && parseAuth(o.body, rc2, method2, data2));
    check(rc2 == rc && method2 == method && data2 == data);
  } else {
    check(!err.empty());
  }
  check(!reasonName(static_cast<std::uint8_t>(type)).empty());
}

struct Framed {
  std::vector<Owned> packets;
  Decoder::Status end = Decoder::Status::NeedMore;
  std::string error;
  std::size_t buffered = 0;
};

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (char c : s) {
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  return h;
}

/// Frames `bytes`; chunk sizes from `rng` (0 = all at once).
Framed frame(std::string_view bytes, std::size_t maxSize, std::uint64_t rng) {
  Framed f;
  Decoder d(maxSize);
  std::size_t at = 0;
  bool direct = false;
  do {
    std::size_t n = bytes.size() - at;
    if (rng != 0) {
      rng ^= rng << 13;
      rng ^= rng >> 7;
      rng ^= rng << 17;
      n = std::min<std::size_t>(n, rng % 40);
    }
    if (direct) {
      d.buffer().append(bytes.data() + at, n);
    } else {
      d.feed(bytes.data() + at, n);
    }
    direct = !direct;
    at += n;
    Packet p;
    while ((f.end = d.next(p)) == Decoder::Status::Ok || f.end == Decoder::Status::Oversized) {
      check(static_cast<std::uint8_t>(p.type) >= 1 && p.flags <= 0x0F);
      const bool over = f.end == Decoder::Status::Oversized;
      check(over ? p.type == PacketType::Publish && p.size > maxSize &&
                       p.body.size() <= Decoder::kOversizedHead
                 : p.body.size() + 2 <= maxSize);
      f.packets.push_back({p.type, p.flags, std::string(p.body), over});
    }
    f.end = f.end == Decoder::Status::Oversized ? Decoder::Status::NeedMore : f.end;
    if (f.end == Decoder::Status::Error) {
      check(!d.error().empty());
      f.error = d.error();
      break;
    }
  } while (at < bytes.size());
  f.buffered = d.buffered();
  return f;
}

/// Slices the input into fields for the encoders.
struct Slicer {
  std::string_view s;
  std::string_view take(std::size_t maxLen) {
    if (s.empty()) {
      return {};
    }
    const std::size_t n =
        std::min<std::size_t>(static_cast<unsigned char>(s[0]) % (maxLen + 1), s.size() - 1);
    const std::string_view r = s.substr(1, n);
    s.remove_prefix(1 + n);
    return r;
  }
  std::uint8_t byte() {
    if (s.empty()) {
      return 0;
    }
    const auto b = static_cast<std::uint8_t>(s[0]);
    s.remove_prefix(1);
    return b;
  }
};

void encodeAll(std::string_view bytes) {
  Slicer in{bytes};
  const std::uint8_t bits = in.byte();
  const Version v = (bits & 1) != 0 ? Version::V5 : Version::V311;
  ConnectPacket cp;
  cp.version = v;
  cp.clientId = in.take(30);
  cp.cleanStart = (bits & 2) != 0;
  const std::uint8_t hi = in.byte();
  cp.keepAliveSeconds = static_cast<std::uint16_t>(hi << 8 | in.byte());
  cp.sessionExpirySeconds = in.byte();
  cp.receiveMaximum = in.byte();
  cp.maximumPacketSize = in.byte();
  if ((bits & 4) != 0) {
    cp.username = in.take(20);
  }
  if ((bits & 8) != 0) {
    cp.password = in.take(20);
  }
  cp.authMethod = in.take(10);
  cp.authData = in.take(10);
  if ((bits & 16) != 0) {
    cp.will = Will{std::string(in.take(20)), std::string(in.take(20)), in.byte(), (bits & 32) != 0};
  }
  std::string out;
  encodeConnect(cp, out);
  check(frameOne(out).type == PacketType::Connect);

  mqb::mqtt::Properties props;
  props.user.push_back({std::string(in.take(10)), std::string(in.take(10))});
  if ((bits & 64) != 0) {
    props.contentType = in.take(10);
    props.responseTopic = in.take(10);
    props.correlationData = in.take(10);
    props.payloadFormat = in.byte() & 1;
    props.messageExpirySeconds = in.byte();
  }
  const mqb::mqtt::UserProperty hop{"hop", std::string(in.take(5))};
  const std::string topic(in.take(20));
  const std::uint8_t qos = in.byte() % 3;
  const std::optional<std::uint32_t> expiry =
      (bits & 128) != 0 ? std::optional<std::uint32_t>(in.byte()) : std::nullopt;
  const std::uint16_t id = static_cast<std::uint16_t>(in.byte() | 1);
  const std::string_view payload = in.s;
  out.clear();
  encodePublish(v, topic, payload, qos, true, true, id, &props, &hop, expiry, out);
  check(out.size() == publishSize(v, topic, payload.size(), qos, &props, &hop, expiry));
  const Owned o = frameOne(out);
  mqb::mqtt::Message m;
  PublishHeader h;
  if (!topic.empty()) {
    const PublishStatus st = parsePublish(v, o.flags, o.body, m, h);
    check(st != PublishStatus::Malformed);
    check(validTopicName(topic) ? st != PublishStatus::InvalidTopic : st != PublishStatus::Ok);
    check(m.topic == topic && m.payload == payload && m.qos == qos && m.retain);
    check(qos == 0 ? h.packetId == 0 && !h.dup : h.packetId == id && h.dup);
    if (v == Version::V5 && st == PublishStatus::Ok) {
      mqb::mqtt::Properties expected = props;
      expected.user.push_back(hop);
      if (expiry) {
        expected.messageExpirySeconds = expiry;
      }
      check(m.props == expected);
    }
  }

  out.clear();
  encodeSubscribe(v, id, topic, SubscribeOptions{qos, (bits & 2) != 0, (bits & 4) != 0, 2}, out);
  check(frameOne(out).type == PacketType::Subscribe);
  out.clear();
  encodeUnsubscribe(v, id, topic, out);
  check(frameOne(out).type == PacketType::Unsubscribe);
  out.clear();
  encodeDisconnect(v, bits, expiry, out);
  const Owned disc = frameOne(out);
  std::uint8_t rc = 0;
  std::string why;
  check(disc.type == PacketType::Disconnect);
  // Our DISCONNECT read as a server's: a session expiry or a client-only code is refused.
  if (parseDisconnect(v, disc.body, rc, why)) {
    check(rc == (v == Version::V5 ? bits : 0));
  } else {
    check(v == Version::V5);
  }
  for (PacketType t :
       {PacketType::Puback, PacketType::Pubrec, PacketType::Pubrel, PacketType::Pubcomp}) {
    out.clear();
    encodeAck(v, t, id, bits, out);
    const Owned a = frameOne(out);
    std::uint16_t id3 = 0;
    check(a.type == t);
    if (parseAck(v, t, a.body, id3, rc)) {  // v5: only codes `t` defines parse
      check(id3 == id && rc == (v == Version::V5 ? bits : 0));
    } else {
      check(v == Version::V5 && bits != 0);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::uint64_t h = fnv1a(bytes);
  // Mostly the default limit; sometimes a small one so "packet too large" is reached.
  const std::size_t maxSize = (h & 3) == 0 ? 2 + (h >> 8) % 300 : 268435455 + 5;

  const Framed whole = frame(bytes, maxSize, 0);
  const Framed chunked = frame(bytes, maxSize, h | 1);
  check(whole.packets == chunked.packets && whole.end == chunked.end &&
        whole.error == chunked.error);
  if (whole.end != Decoder::Status::Error) {
    check(whole.buffered == chunked.buffered);
  }
  for (const Owned& p : whole.packets) {
    parseAll(p.type, p.flags, p.body);
  }

  // The raw input as a packet body (first byte = the fixed-header flags).
  if (size > 0) {
    parseAll(PacketType::Publish, static_cast<std::uint8_t>(data[0] & 0x0F), bytes.substr(1));
  }
  encodeAll(bytes);
  return 0;
}
