// The MQTT packet codec (mqtt/wire/codec.h): exact bytes of what the client sends, round
// trips through the frame decoder, parsing of hand-written server packets and rejection of
// malformed ones.

#include "mqtt/wire/codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mqb::mqtt::wire {
namespace {

using namespace std::string_literals;

/// Bytes from integers (avoids "\x.." escapes swallowing the following hex digits).
std::string B(std::initializer_list<int> v) {
  std::string s;
  for (int c : v) {
    s.push_back(static_cast<char>(c));
  }
  return s;
}

/// A decoded packet that owns its body.
struct Owned {
  PacketType type;
  std::uint8_t flags;
  std::string body;
};

/// Feeds `bytes` in chunks of `chunk` bytes, collecting every packet; fails the test on Error.
std::vector<Owned> decodeAll(std::string_view bytes, std::size_t chunk) {
  Decoder d;
  std::vector<Owned> out;
  for (std::size_t at = 0; at < bytes.size(); at += chunk) {
    const std::string_view part = bytes.substr(at, chunk);
    d.feed(part.data(), part.size());
    Packet p;
    Decoder::Status st;
    while ((st = d.next(p)) == Decoder::Status::Ok) {
      out.push_back({p.type, p.flags, std::string(p.body)});
    }
    EXPECT_EQ(st, Decoder::Status::NeedMore) << d.error();
  }
  EXPECT_EQ(d.buffered(), 0u);
  return out;
}

/// The single packet in `bytes`.
Owned decodeOne(std::string_view bytes) {
  auto all = decodeAll(bytes, bytes.size());
  EXPECT_EQ(all.size(), 1u);
  return all.empty() ? Owned{PacketType::Connect, 0, {}} : all.front();
}

// --- CONNECT ---

TEST(WireConnect, V311WithUserPasswordAndWillIsExact) {
  ConnectPacket p;
  p.version = Version::V311;
  p.clientId = "c1";
  p.cleanStart = true;
  p.keepAliveSeconds = 30;
  p.username = "u";
  p.password = "pw";
  p.will = Will{"w/t", "bye", 1, true};
  p.sessionExpirySeconds = 99;  // v5 only: must not appear
  p.authMethod = "X";
  std::string out = "pre";
  encodeConnect(p, out);
  const std::string expected = "pre"s + B({0x10, 31, 0, 4}) + "MQTT" + B({4, 0xEE, 0, 30}) +
                               B({0, 2}) + "c1" + B({0, 3}) + "w/t" + B({0, 3}) + "bye" +
                               B({0, 1}) + "u" + B({0, 2}) + "pw";
  EXPECT_EQ(out, expected);
}

TEST(WireConnect, V311PasswordWithoutUsernameIsDropped) {
  ConnectPacket p;
  p.version = Version::V311;
  p.clientId = "c";
  p.cleanStart = false;
  p.keepAliveSeconds = 0;
  p.password = "secret";
  std::string out;
  encodeConnect(p, out);
  EXPECT_EQ(out, B({0x10, 13, 0, 4}) + "MQTT" + B({4, 0x00, 0, 0, 0, 1}) + "c");
}

TEST(WireConnect, V5WithSessionExpiryReceiveMaximumAndAuthIsExact) {
  ConnectPacket p;
  p.clientId = "id";
  p.cleanStart = false;
  p.keepAliveSeconds = 60;
  p.sessionExpirySeconds = 3600;
  p.receiveMaximum = 20;
  p.authMethod = "SCRAM";
  p.authData = B({1, 2});
  std::string out;
  encodeConnect(p, out);
  const std::string expected = B({0x10, 36, 0, 4}) + "MQTT" + B({5, 0x00, 0, 60}) +
                               B({21, 0x11, 0, 0, 0x0E, 0x10, 0x21, 0, 20, 0x15, 0, 5}) + "SCRAM" +
                               B({0x16, 0, 2, 1, 2}) + B({0, 2}) + "id";
  EXPECT_EQ(out, expected);
  const Owned pk = decodeOne(out);
  EXPECT_EQ(pk.type, PacketType::Connect);
  EXPECT_EQ(pk.body.size(), 36u);
}

TEST(WireConnect, V5WillUserPasswordAndMaximumPacketSize) {
  ConnectPacket p;
  p.clientId = "";
  p.keepAliveSeconds = 0x1234;
  p.maximumPacketSize = 0x00010000;
  p.username = "";
  p.password = B({0, 0xFF});  // binary, allowed without checking content
  p.will = Will{"t", "", 2, false};
  p.authData = "ignored without a method";
  std::string out;
  encodeConnect(p, out);
  const std::string expected = B({0x10, 30, 0, 4}) + "MQTT" + B({5, 0xD6, 0x12, 0x34}) +
                               B({5, 0x27, 0, 1, 0, 0}) + B({0, 0}) + B({0}) + B({0, 1}) + "t" +
                               B({0, 0}) + B({0, 0}) + B({0, 2, 0, 0xFF});
  EXPECT_EQ(out, expected);
}

// --- PUBLISH ---

Properties allProps() {
  Properties pr;
  pr.user = {{"a", "1"}, {"a", "2"}, {"", ""}};
  pr.contentType = "application/json";
  pr.payloadFormat = 1;
  pr.messageExpirySeconds = 300;
  pr.responseTopic = "reply/here";
  pr.correlationData = B({0, 1, 0, 0xFF});
  return pr;
}

TEST(WirePublish, V5ExactBytes) {
  Properties pr;
  pr.payloadFormat = 1;
  pr.messageExpirySeconds = 77;  // replaced by the override
  pr.user = {{"k", "v"}};
  std::string out;
  encodePublish(Version::V5, "a/b", "hi", 1, false, false, 0x0102, &pr, nullptr, 10u, out);
  const std::string expected = B({0x32, 24, 0, 3}) + "a/b" + B({1, 2, 14, 0x01, 1}) +
                               B({0x02, 0, 0, 0, 10, 0x26, 0, 1}) + "k" + B({0, 1}) + "v" + "hi";
  EXPECT_EQ(out, expected);
}

TEST(WirePublish, V311IgnoresPropertiesAndQos0HasNoPacketIdOrDup) {
  const Properties pr = allProps();
  const UserProperty hop{"hop", "x"};
  std::string out;
  encodePublish(Version::V311, "t", "p", 0, true, true, 9, &pr, &hop, 5u, out);
  EXPECT_EQ(out, B({0x31, 4, 0, 1}) + "t" + "p");
  out.clear();
  encodePublish(Version::V311, "t", "", 2, false, true, 9, nullptr, nullptr, std::nullopt, out);
  EXPECT_EQ(out, B({0x3C, 5, 0, 1}) + "t" + B({0, 9}));
}

TEST(WirePublish, V5EveryPropertyAndHopMarkerRoundTrip) {
  const Properties pr = allProps();
  const UserProperty hop{"mqb-hop", "bridge-1"};
  const std::string payload = B({0, 1, 2}) + "payload";
  std::string out;
  encodePublish(Version::V5, "sensors/1/temp", payload, 1, true, true, 4242, &pr, &hop,
                std::nullopt, out);
  ASSERT_EQ(out.size(),
            publishSize(Version::V5, "sensors/1/temp", payload.size(), 1, &pr, &hop, std::nullopt));
  Message m;  // reused: the second and third parse recycle its strings
  for (std::size_t chunk : {out.size(), std::size_t{1}, std::size_t{7}}) {
    const auto packets = decodeAll(out, chunk);
    ASSERT_EQ(packets.size(), 1u) << "chunk " << chunk;
    ASSERT_EQ(packets[0].type, PacketType::Publish);
    PublishHeader h;
    h.topicAlias = 99;
    std::string err;
    ASSERT_EQ(parsePublish(Version::V5, packets[0].flags, packets[0].body, m, h, &err),
              PublishStatus::Ok)
        << err;
    EXPECT_EQ(m.topic, "sensors/1/temp");
    EXPECT_EQ(m.payload, payload);
    EXPECT_EQ(m.qos, 1);
    EXPECT_TRUE(m.retain);
    EXPECT_TRUE(h.dup);
    EXPECT_EQ(h.packetId, 4242);
    EXPECT_EQ(h.topicAlias, 0);
    Properties expected = allProps();
    expected.user.push_back(hop);
    EXPECT_EQ(m.props, expected);
  }
}

TEST(WirePublish, ExpiryOverrideReplacesTheMessageExpiry) {
  const Properties pr = allProps();
  std::string out;
  encodePublish(Version::V5, "t", "x", 0, false, false, 0, &pr, nullptr, 12u, out);
  const Owned pk = decodeOne(out);
  Message m;
  PublishHeader h;
  h.packetId = 1;
  h.dup = true;
  ASSERT_EQ(parsePublish(Version::V5, pk.flags, pk.body, m, h), PublishStatus::Ok);
  EXPECT_EQ(m.props.messageExpirySeconds, 12u);
  EXPECT_EQ(h.packetId, 0);
  EXPECT_FALSE(h.dup);
  EXPECT_EQ(m.qos, 0);
}

TEST(WirePublish, V3RoundTripHasNoProperties) {
  std::string out;
  encodePublish(Version::V311, "a", "b", 1, false, false, 1, nullptr, nullptr, std::nullopt, out);
  const Owned pk = decodeOne(out);
  Message m;
  m.props = allProps();  // a recycled message: stale properties must go
  PublishHeader h;
  ASSERT_EQ(parsePublish(Version::V311, pk.flags, pk.body, m, h), PublishStatus::Ok);
  EXPECT_EQ(m.topic, "a");
  EXPECT_EQ(m.payload, "b");
  EXPECT_EQ(h.packetId, 1);
  EXPECT_TRUE(m.props.empty());
}

TEST(WirePublish, RecycledMessageGetsOnlyTheNewProperties) {
  Properties pr;
  pr.user = {{"only", "one"}};
  std::string out;
  encodePublish(Version::V5, "t", "", 0, false, false, 0, &pr, nullptr, std::nullopt, out);
  const Owned pk = decodeOne(out);
  Message m;
  m.props = allProps();
  PublishHeader h;
  ASSERT_EQ(parsePublish(Version::V5, pk.flags, pk.body, m, h), PublishStatus::Ok);
  EXPECT_EQ(m.props, pr);
}

TEST(WirePublish, PublishSizeMatchesEncodedSizeForManyShapes) {
  const Properties full = allProps();
  const Properties empty;
  const UserProperty hop{"mqb-hop", "b"};
  const std::string big(200 * 1024, 'x');
  int checked = 0;
  for (Version v : {Version::V311, Version::V5}) {
    for (int q = 0; q <= 2; ++q) {
      const auto qos = static_cast<std::uint8_t>(q);
      for (const Properties* pr : {static_cast<const Properties*>(nullptr), &empty, &full}) {
        for (const UserProperty* extra : {static_cast<const UserProperty*>(nullptr), &hop}) {
          for (std::optional<std::uint32_t> exp : {std::optional<std::uint32_t>{}, {7u}}) {
            for (std::string_view payload : {std::string_view{}, std::string_view{big}}) {
              std::string out = "prefix";
              encodePublish(v, "a/topic", payload, qos, false, false, 1, pr, extra, exp, out);
              EXPECT_EQ(out.size() - 6,
                        publishSize(v, "a/topic", payload.size(), qos, pr, extra, exp));
              ++checked;
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 2 * 3 * 3 * 2 * 2 * 2);
}

TEST(WirePublish, RemainingLengthBoundaries) {
  struct Case {
    std::size_t remaining;
    std::string header;  // fixed header after the first byte
  };
  const Case cases[] = {
      {127, B({0x7F})},
      {128, B({0x80, 0x01})},
      {16383, B({0xFF, 0x7F})},
      {16384, B({0x80, 0x80, 0x01})},
      {2097151, B({0xFF, 0xFF, 0x7F})},
      {2097152, B({0x80, 0x80, 0x80, 0x01})},
  };
  for (const auto& c : cases) {
    // v3, QoS 0, topic "t": remaining = 2 + 1 + payload.
    const std::string payload(c.remaining - 3, 'p');
    std::string out;
    encodePublish(Version::V311, "t", payload, 0, false, false, 0, nullptr, nullptr, std::nullopt,
                  out);
    ASSERT_EQ(out.size(), 1 + c.header.size() + c.remaining);
    EXPECT_EQ(out.substr(1, c.header.size()), c.header) << c.remaining;
    EXPECT_EQ(out.size(),
              publishSize(Version::V311, "t", payload.size(), 0, nullptr, nullptr, std::nullopt));
    const Owned pk = decodeOne(out);
    EXPECT_EQ(pk.body.size(), c.remaining);
    // v5 with properties around the same sizes.
    const Properties pr = allProps();
    out.clear();
    encodePublish(Version::V5, "t", payload, 1, false, false, 3, &pr, nullptr, std::nullopt, out);
    EXPECT_EQ(out.size(),
              publishSize(Version::V5, "t", payload.size(), 1, &pr, nullptr, std::nullopt));
  }
}

TEST(WirePublish, OverlongStringsAreTruncatedTo65535) {
  const std::string topic(70000, 't');
  std::string out;
  encodePublish(Version::V5, topic, "p", 0, false, false, 0, nullptr, nullptr, std::nullopt, out);
  EXPECT_EQ(out.size(), publishSize(Version::V5, topic, 1, 0, nullptr, nullptr, std::nullopt));
  const Owned pk = decodeOne(out);
  Message m;
  PublishHeader h;
  ASSERT_EQ(parsePublish(Version::V5, pk.flags, pk.body, m, h), PublishStatus::Ok);
  EXPECT_EQ(m.topic.size(), 65535u);
  EXPECT_EQ(m.payload, "p");
}

TEST(WirePublish, SubscriptionIdentifiersAreSkipped) {
  // topic "t", QoS 0, properties: subscription id 128 (2-byte varint), user k=v, subscription id 1.
  const std::string body = B({0, 1}) + "t" + B({12, 0x0B, 0x80, 0x01, 0x26, 0, 1}) + "k" +
                           B({0, 1}) + "v" + B({0x0B, 0x01}) + "data";
  Message m;
  PublishHeader h;
  std::string err;
  ASSERT_EQ(parsePublish(Version::V5, 0, body, m, h, &err), PublishStatus::Ok) << err;
  Properties expected;
  expected.user = {{"k", "v"}};
  EXPECT_EQ(m.props, expected);
  EXPECT_EQ(m.payload, "data");
}

TEST(WirePublish, TopicAliasIsReported) {
  const std::string body = B({0, 0, 3, 0x23, 0, 5}) + "pay";
  Message m;
  PublishHeader h;
  ASSERT_EQ(parsePublish(Version::V5, 0, body, m, h), PublishStatus::Ok);
  EXPECT_EQ(h.topicAlias, 5);
  EXPECT_EQ(m.topic, "");
  EXPECT_EQ(m.payload, "pay");
}

TEST(WirePublish, MalformedIsRejected) {
  Message m;
  PublishHeader h;
  const auto check = [&](PublishStatus want, Version v, std::uint8_t flags,
                         const std::string& body) {
    std::string err;
    EXPECT_EQ(parsePublish(v, flags, body, m, h, &err), want) << err;
    EXPECT_FALSE(err.empty());
    return err;
  };
  const auto malformed = [&](Version v, std::uint8_t flags, const std::string& body) {
    return check(PublishStatus::Malformed, v, flags, body);
  };
  malformed(Version::V5, 0, B({0, 5}) + "ab");                      // truncated topic
  malformed(Version::V5, 0, B({0}));                                // truncated length
  malformed(Version::V5, 0, B({0, 1}) + "t" + B({5, 0x01, 1}));     // property length > body
  malformed(Version::V5, 0, B({0, 1}) + "t" + B({2, 0x05, 0}));     // unknown property id
  malformed(Version::V5, 0, B({0, 1}) + "t" + B({3, 0x02, 0, 0}));  // truncated u32 property
  malformed(Version::V5, 0, B({0, 1}) + "t" + B({3, 0x03, 0, 5}));  // string beyond properties
  malformed(Version::V5, 0, B({0, 1}) + "t" + B({0x80, 0x80, 0x80, 0x80, 0x01}));  // bad varint
  malformed(Version::V5, 0, B({0, 1}) + "t");  // missing property length
  EXPECT_EQ(malformed(Version::V5, 0x06, B({0, 1}) + "t" + B({0, 1, 0})), "publish qos 3");
  malformed(Version::V311, 0x06, B({0, 1}) + "t" + B({0, 1}));  // QoS 3 (v3)
  malformed(Version::V311, 0x02, B({0, 1}) + "t" + B({0, 0}));  // packet id 0
  malformed(Version::V311, 0x02, B({0, 1}) + "t" + B({0}));     // truncated packet id
  malformed(Version::V311, 0x08, B({0, 1}) + "t");              // DUP on QoS 0
}

TEST(WirePublish, InvalidContentIsToldApartFromBrokenFraming) {
  Message m;
  PublishHeader h;
  const auto check = [&](PublishStatus want, Version v, std::uint8_t flags,
                         const std::string& body) {
    std::string err;
    EXPECT_EQ(parsePublish(v, flags, body, m, h, &err), want) << err;
    EXPECT_FALSE(err.empty());
  };
  const auto topic = PublishStatus::InvalidTopic;
  const auto props = PublishStatus::InvalidProperties;
  check(topic, Version::V5, 0, B({0, 0, 0}) + "payload");  // empty topic, no alias
  check(topic, Version::V311, 0, B({0, 0}) + "payload");   // empty topic (v3)
  check(topic, Version::V311, 0, B({0, 3}) + "a/+");       // wildcards in a topic name
  check(topic, Version::V311, 0, B({0, 3}) + "a/#");
  check(topic, Version::V311, 0, B({0, 3, 'a', 0xC3, 0x28}));          // invalid UTF-8
  check(topic, Version::V311, 0, B({0, 3, 'a', 0xED, 0xA0, 0x80}));    // a surrogate
  check(topic, Version::V311, 0, B({0, 3, 'a', 0xC0, 0xAF}));          // overlong '/'
  check(topic, Version::V5, 0, B({0, 3, 'a', 0, 'b', 0}));             // U+0000
  check(props, Version::V5, 0, B({0, 1}) + "t" + B({2, 0x01, 2}));     // payload format 2
  check(props, Version::V5, 0, B({0, 1}) + "t" + B({3, 0x23, 0, 0}));  // topic alias 0
  check(props, Version::V5, 0, B({0, 1}) + "t" + B({2, 0x0B, 0}));     // subscription id 0
  check(props, Version::V5, 0, B({0, 1}) + "t" + B({10, 0x02, 0, 0, 0, 1, 0x02, 0, 0, 0, 2}));
  check(props, Version::V5, 0, B({0, 1}) + "t" + B({5, 0x11, 0, 0, 0, 1}));  // not for PUBLISH
  check(props, Version::V5, 0, B({0, 1}) + "t" + B({5, 0x03, 0, 2, 0xFF, 0xFE}));  // UTF-8
  check(props, Version::V5, 0, B({0, 1}) + "t" + B({7, 0x26, 0, 1, 'k', 0, 1, 0}));
  check(props, Version::V5, 0, B({0, 1}) + "t" + B({6, 0x08, 0, 3, 'r', '/', '#'}));
  check(props, Version::V5, 0, B({0, 1}) + "t" + B({2, 0x01, 1, 0xFF, 0xFE}));  // not UTF-8
  ASSERT_EQ(parsePublish(Version::V5, 0, B({0, 1}) + "t" + B({2, 0x01, 1}) + "ok" + B({0}), m, h),
            PublishStatus::Ok);  // UTF-8 payload, U+0000 allowed in a payload
  // The framing is intact: topic, packet id and payload are there to be set aside.
  ASSERT_EQ(parsePublish(Version::V5, 0x02, B({0, 3}) + "a/#" + B({0, 9, 0}) + "pay", m, h),
            PublishStatus::InvalidTopic);
  EXPECT_EQ(m.topic, "a/#");
  EXPECT_EQ(h.packetId, 9);
  EXPECT_EQ(m.payload, "pay");
  ASSERT_EQ(parsePublish(Version::V5, 0x02,
                         B({0, 1}) + "t" + B({0, 7}) + B({4, 0x01, 1, 0x01, 0}) + "body", m, h),
            PublishStatus::InvalidProperties);
  EXPECT_EQ(h.packetId, 7);
  EXPECT_EQ(m.payload, "body");
}

TEST(WirePublish, HeadOfAnOversizedPacketGivesTopicAndPacketId) {
  std::string topic;
  PublishHeader h;
  ASSERT_TRUE(parsePublishHead(0x03, B({0, 3}) + "a/b" + B({1, 2}) + "partial", topic, h));
  EXPECT_EQ(topic, "a/b");
  EXPECT_EQ(h.packetId, 0x0102);
  EXPECT_EQ(h.qos, 1);
  EXPECT_FALSE(parsePublishHead(0x02, B({0, 3}) + "a/b" + B({0, 0}), topic, h));
  EXPECT_FALSE(parsePublishHead(0x06, B({0, 3}) + "a/b" + B({0, 1}), topic, h));
  EXPECT_FALSE(parsePublishHead(0x02, B({0, 9}) + "a/b", topic, h));
}

// --- Decoder ---

TEST(WireDecoder, SplitsConcatenatedPacketsAndWaitsForMore) {
  std::string stream;
  encodePingreq(stream);
  encodeAck(Version::V5, PacketType::Puback, 7, 0, stream);
  encodePublish(Version::V5, "t", std::string(300, 'x'), 0, false, false, 0, nullptr, nullptr,
                std::nullopt, stream);
  Decoder d;
  Packet p;
  EXPECT_EQ(d.next(p), Decoder::Status::NeedMore);
  d.feed(stream.data(), 1);
  EXPECT_EQ(d.next(p), Decoder::Status::NeedMore);
  d.buffer().append(stream, 1, stream.size() - 10);  // zero-copy path
  ASSERT_EQ(d.next(p), Decoder::Status::Ok);
  EXPECT_EQ(p.type, PacketType::Pingreq);
  EXPECT_TRUE(p.body.empty());
  ASSERT_EQ(d.next(p), Decoder::Status::Ok);
  EXPECT_EQ(p.type, PacketType::Puback);
  EXPECT_EQ(p.body, B({0, 7}));
  EXPECT_EQ(d.next(p), Decoder::Status::NeedMore);
  EXPECT_EQ(d.buffered(), stream.size() - 9 - 2 - 4);
  d.feed(stream.data() + stream.size() - 9, 9);
  ASSERT_EQ(d.next(p), Decoder::Status::Ok);
  EXPECT_EQ(p.type, PacketType::Publish);
  EXPECT_EQ(p.body.size(), 2 + 1 + 1 + 300u);
  EXPECT_EQ(d.next(p), Decoder::Status::NeedMore);
  EXPECT_EQ(d.buffered(), 0u);
  EXPECT_TRUE(d.error().empty());
}

TEST(WireDecoder, ViewsStayValidUntilTheNextFeed) {
  std::string stream;
  for (std::uint16_t i = 1; i <= 50; ++i) {
    encodeAck(Version::V311, PacketType::Pubrel, i, 0, stream);
  }
  Decoder d;
  d.feed(stream.data(), stream.size());
  std::vector<Packet> views;
  Packet p;
  while (d.next(p) == Decoder::Status::Ok) {
    views.push_back(p);
  }
  ASSERT_EQ(views.size(), 50u);
  for (std::uint16_t i = 0; i < 50; ++i) {
    std::uint16_t id = 0;
    std::uint8_t rc = 1;
    EXPECT_EQ(views[i].flags, 0x2);
    ASSERT_TRUE(parseAck(Version::V311, PacketType::Pubrel, views[i].body, id, rc));
    EXPECT_EQ(id, i + 1);
  }
  // Everything consumed: the next feed starts from an empty buffer.
  d.feed("\xD0", 1);
  EXPECT_EQ(d.buffer().size(), 1u);
}

TEST(WireDecoder, FiveByteRemainingLengthIsAnError) {
  Decoder d;
  const std::string bad = B({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01});
  d.feed(bad.data(), bad.size());
  Packet p;
  EXPECT_EQ(d.next(p), Decoder::Status::Error);
  EXPECT_EQ(d.error(), "malformed remaining length");
  EXPECT_EQ(d.next(p), Decoder::Status::Error);  // sticky
  d.reset();
  EXPECT_TRUE(d.error().empty());
  EXPECT_EQ(d.buffered(), 0u);
  d.feed("\xC0\x00", 2);
  EXPECT_EQ(d.next(p), Decoder::Status::Ok);
}

TEST(WireDecoder, MaximumFourByteRemainingLengthWaitsForTheBody) {
  Decoder d;
  const std::string hdr = B({0x30, 0xFF, 0xFF, 0xFF, 0x7F});
  d.feed(hdr.data(), hdr.size());
  Packet p;
  EXPECT_EQ(d.next(p), Decoder::Status::NeedMore);
}

TEST(WireDecoder, ReservedTypeZeroIsAnError) {
  Decoder d;
  d.feed("\x00\x00", 2);
  Packet p;
  EXPECT_EQ(d.next(p), Decoder::Status::Error);
  EXPECT_EQ(d.error(), "reserved packet type 0");
}

TEST(WireDecoder, NonPublishOverMaximumSizeIsAnErrorBeforeItsBodyArrives) {
  Decoder d(100);
  const std::string suback = B({0x90, 0xE4, 0x07, 0, 1});  // remaining length 996
  d.feed(suback.data(), 3);                                // the fixed header only
  Packet p;
  EXPECT_EQ(d.next(p), Decoder::Status::Error);
  EXPECT_EQ(d.error(), "packet of 999 bytes over the maximum of 100");
}

TEST(WireDecoder, OversizedPublishIsReportedAndItsTailDiscardedAsItArrives) {
  Decoder d(100);
  std::string ok;
  encodePublish(Version::V311, "t", std::string(95, 'x'), 0, false, false, 0, nullptr, nullptr,
                std::nullopt, ok);
  ASSERT_EQ(ok.size(), 100u);
  d.feed(ok.data(), ok.size());
  Packet p;
  EXPECT_EQ(d.next(p), Decoder::Status::Ok);
  // 300,000 bytes announced: reported once its head is there, never held whole.
  std::string big;
  encodePublish(Version::V311, "a/b", std::string(300000, 'y'), 1, false, false, 5, nullptr,
                nullptr, std::nullopt, big);
  std::string after;
  encodePingreq(after);
  const std::string stream = big + after;
  std::size_t fed = 0;
  int oversized = 0;
  int pings = 0;
  std::size_t maxBuffered = 0;
  std::size_t maxCapacity = 0;
  while (fed < stream.size()) {
    const std::size_t n = std::min<std::size_t>(4096, stream.size() - fed);
    d.feed(stream.data() + fed, n);
    fed += n;
    Decoder::Status st;
    while ((st = d.next(p)) != Decoder::Status::NeedMore) {
      ASSERT_NE(st, Decoder::Status::Error) << d.error();
      if (st == Decoder::Status::Oversized) {
        ++oversized;
        EXPECT_EQ(p.type, PacketType::Publish);
        EXPECT_EQ(p.size, big.size());
        std::string topic;
        PublishHeader h;
        ASSERT_TRUE(parsePublishHead(p.flags, p.body, topic, h));
        EXPECT_EQ(topic, "a/b");
        EXPECT_EQ(h.packetId, 5);
      } else if (p.type == PacketType::Pingreq) {
        ++pings;
      }
    }
    maxBuffered = std::max(maxBuffered, d.buffered());
    maxCapacity = std::max(maxCapacity, d.buffer().capacity());
  }
  EXPECT_EQ(oversized, 1);
  EXPECT_EQ(pings, 1);  // the stream goes on right after the discarded tail
  EXPECT_LT(maxBuffered, Decoder::kOversizedHead + 4096 + 8);  // head and one read at most
  EXPECT_LE(maxCapacity, 4 * Decoder::kOversizedHead);         // not the packet's 300 KB
}

// --- acks, SUBACK, DISCONNECT, AUTH ---

TEST(WireAck, EncodesShortAndLongForms) {
  std::string out;
  encodeAck(Version::V311, PacketType::Puback, 0x0107, 0x80, out);
  EXPECT_EQ(out, B({0x40, 2, 1, 7}));
  out.clear();
  encodeAck(Version::V5, PacketType::Pubrel, 7, 0, out);
  EXPECT_EQ(out, B({0x62, 2, 0, 7}));
  out.clear();
  encodeAck(Version::V5, PacketType::Pubrec, 7, 0x10, out);
  EXPECT_EQ(out, B({0x50, 3, 0, 7, 0x10}));
  out.clear();
  encodeAck(Version::V5, PacketType::Pubcomp, 0xFFFF, 0x92, out);
  EXPECT_EQ(out, B({0x70, 3, 0xFF, 0xFF, 0x92}));
}

TEST(WireAck, Parses) {
  std::uint16_t id = 0;
  std::uint8_t rc = 0xFF;
  const auto PA = PacketType::Puback;
  ASSERT_TRUE(parseAck(Version::V311, PA, B({0, 7}), id, rc));
  EXPECT_EQ(id, 7);
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(parseAck(Version::V5, PA, B({1, 2}), id, rc));
  EXPECT_EQ(id, 0x0102);
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(parseAck(Version::V5, PA, B({0, 9, 0x10}), id, rc));
  EXPECT_EQ(rc, 0x10);
  ASSERT_TRUE(parseAck(Version::V5, PA, B({0, 9, 0x87, 5, 0x1F, 0, 2}) + "no", id, rc));
  EXPECT_EQ(rc, 0x87);
  ASSERT_TRUE(parseAck(Version::V5, PacketType::Pubcomp, B({0, 9, 0x92}), id, rc));
  std::string err;
  EXPECT_FALSE(parseAck(Version::V311, PA, B({0, 7, 0}), id, rc, &err));
  EXPECT_FALSE(err.empty());
  EXPECT_FALSE(parseAck(Version::V5, PA, B({0}), id, rc));
  EXPECT_FALSE(parseAck(Version::V5, PA, B({0, 0}), id, rc));                       // packet id 0
  EXPECT_FALSE(parseAck(Version::V5, PA, B({0, 9, 0x87, 5, 0x1F, 0, 2}), id, rc));  // beyond
  EXPECT_FALSE(parseAck(Version::V5, PA, B({0, 9, 0x87, 2, 0x7F, 0}), id, rc));     // unknown id
  EXPECT_FALSE(parseAck(Version::V5, PA, B({0, 9, 0x92}), id, rc));  // not a PUBACK code
  EXPECT_FALSE(parseAck(Version::V5, PacketType::Pubrel, B({0, 9, 0x87}), id, rc));
  EXPECT_FALSE(parseAck(Version::V5, PA, B({0, 9, 0, 4, 0x1F, 0, 1, 0xFF}), id, rc));  // UTF-8
  EXPECT_FALSE(parseAck(Version::V5, PA, B({0, 9, 0, 3, 0x02, 0, 0}), id, rc));  // not allowed
  EXPECT_FALSE(
      parseAck(Version::V5, PA, B({0, 9, 0, 8, 0x1F, 0, 1, 'a', 0x1F, 0, 1, 'b'}), id, rc));
}

TEST(WireSubscribe, EncodesOptions) {
  std::string out;
  SubscribeOptions o;
  o.qos = 1;
  o.noLocal = true;
  o.retainAsPublished = true;
  o.retainHandling = 2;
  encodeSubscribe(Version::V5, 10, "a/b", o, out);
  EXPECT_EQ(out, B({0x82, 9, 0, 10, 0}) + B({0, 3}) + "a/b" + B({0x2D}));
  out.clear();
  encodeSubscribe(Version::V311, 10, "a/b", o, out);
  EXPECT_EQ(out, B({0x82, 8, 0, 10}) + B({0, 3}) + "a/b" + B({0x01}));
  out.clear();
  encodeUnsubscribe(Version::V5, 10, "a/b", out);
  EXPECT_EQ(out, B({0xA2, 8, 0, 10, 0}) + B({0, 3}) + "a/b");
  out.clear();
  encodeUnsubscribe(Version::V311, 10, "a/b", out);
  EXPECT_EQ(out, B({0xA2, 7, 0, 10}) + B({0, 3}) + "a/b");
  out.clear();
  encodePingreq(out);
  EXPECT_EQ(out, B({0xC0, 0}));
}

TEST(WireSuback, Parses) {
  std::uint16_t id = 0;
  std::vector<std::uint8_t> codes{9, 9, 9};
  const auto SA = PacketType::Suback;
  ASSERT_TRUE(parseSuback(Version::V311, SA, B({0, 1, 1, 0x80}), id, codes));
  EXPECT_EQ(id, 1);
  EXPECT_EQ(codes, (std::vector<std::uint8_t>{1, 0x80}));
  ASSERT_TRUE(
      parseSuback(Version::V5, SA, B({0, 2, 5, 0x1F, 0, 2}) + "ok" + B({2, 0x87}), id, codes));
  EXPECT_EQ(id, 2);
  EXPECT_EQ(codes, (std::vector<std::uint8_t>{2, 0x87}));
  ASSERT_TRUE(parseSuback(Version::V5, PacketType::Unsuback, B({0, 4, 0, 0x11}), id, codes));
  EXPECT_EQ(codes, (std::vector<std::uint8_t>{0x11}));
  EXPECT_FALSE(parseSuback(Version::V311, SA, B({0, 3}), id, codes));  // no code at all
  EXPECT_FALSE(parseSuback(Version::V5, SA, B({0, 3}), id, codes));    // property length missing
  EXPECT_FALSE(parseSuback(Version::V5, SA, B({0, 3, 9, 0}), id, codes));
  EXPECT_FALSE(parseSuback(Version::V311, SA, B({0}), id, codes));
  EXPECT_FALSE(parseSuback(Version::V311, SA, B({0, 1, 0x87}), id, codes));   // v5-only code
  EXPECT_FALSE(parseSuback(Version::V5, SA, B({0, 1, 0, 0x11}), id, codes));  // UNSUBACK code
}

TEST(WireDisconnect, EncodesAndParses) {
  std::string out;
  encodeDisconnect(Version::V311, 0x8E, 5u, out);
  EXPECT_EQ(out, B({0xE0, 0}));
  out.clear();
  encodeDisconnect(Version::V5, 0, std::nullopt, out);
  EXPECT_EQ(out, B({0xE0, 1, 0}));
  out.clear();
  encodeDisconnect(Version::V5, 0x04, 0x01020304u, out);
  EXPECT_EQ(out, B({0xE0, 7, 0x04, 5, 0x11, 1, 2, 3, 4}));

  std::uint8_t rc = 9;
  std::string why = "stale";
  ASSERT_TRUE(parseDisconnect(Version::V5, "", rc, why));
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(why, "");
  ASSERT_TRUE(parseDisconnect(Version::V5, B({0x8E}), rc, why));
  EXPECT_EQ(rc, 0x8E);
  ASSERT_TRUE(parseDisconnect(Version::V5, B({0x8B, 10, 0x1F, 0, 7}) + "restart", rc, why));
  EXPECT_EQ(rc, 0x8B);
  EXPECT_EQ(why, "restart");
  EXPECT_EQ(reasonName(rc), "server_shutting_down");
  ASSERT_TRUE(parseDisconnect(Version::V311, "", rc, why));
  EXPECT_FALSE(parseDisconnect(Version::V311, B({0}), rc, why));
  EXPECT_FALSE(parseDisconnect(Version::V5, B({0x8B, 9, 0x1F, 0, 7}) + "restart", rc, why));
  // A server may not send a session expiry, nor the client-only code 0x04.
  EXPECT_FALSE(parseDisconnect(Version::V5, B({0x8B, 5, 0x11, 0, 0, 0, 0}), rc, why));
  EXPECT_FALSE(parseDisconnect(Version::V5, B({0x04}), rc, why));
}

TEST(WireAuth, EncodesAndParses) {
  std::string out;
  encodeAuth(0x19, "SCRAM", "abc", out);
  EXPECT_EQ(out, B({0xF0, 16, 0x19, 14, 0x15, 0, 5}) + "SCRAM" + B({0x16, 0, 3}) + "abc");
  const Owned pk = decodeOne(out);
  EXPECT_EQ(pk.type, PacketType::Auth);
  std::uint8_t rc = 0;
  std::string method, data;
  ASSERT_TRUE(parseAuth(pk.body, rc, method, data));
  EXPECT_EQ(rc, 0x19);
  EXPECT_EQ(method, "SCRAM");
  EXPECT_EQ(data, "abc");
  ASSERT_TRUE(parseAuth("", rc, method, data));
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(method, "");
  EXPECT_FALSE(parseAuth(B({0x18, 4, 0x15, 0, 5}) + "SC", rc, method, data));
  EXPECT_FALSE(parseAuth(B({0x18, 0, 0}), rc, method, data));  // trailing byte
  EXPECT_FALSE(parseAuth(B({0x87}), rc, method, data));        // not an AUTH code
  EXPECT_FALSE(parseAuth(B({0x18, 8, 0x15, 0, 1, 'a', 0x15, 0, 1, 'b'}), rc, method, data));
}

// --- CONNACK ---

TEST(WireConnack, V5WithProperties) {
  const std::string body = B({0x01, 0x00, 35, 0x21, 0, 20, 0x27, 0, 1, 0, 0, 0x1F, 0, 2}) + "ok" +
                           B({0x24, 1, 0x25, 0, 0x22, 0, 10, 0x13, 0, 30, 0x12, 0, 2}) + "id" +
                           B({0x26, 0, 1}) + "k" + B({0, 1}) + "v";
  Connack c;
  std::string err;
  ASSERT_TRUE(parseConnack(Version::V5, body, c, &err)) << err;
  EXPECT_TRUE(c.sessionPresent);
  EXPECT_EQ(c.reasonCode, 0);
  EXPECT_EQ(c.receiveMaximum, 20);
  EXPECT_EQ(c.maximumPacketSize, 65536u);
  EXPECT_EQ(c.reasonString, "ok");
  EXPECT_EQ(c.maximumQos, 1);
  EXPECT_FALSE(c.retainAvailable);
  EXPECT_EQ(c.topicAliasMaximum, 10);
  EXPECT_EQ(c.serverKeepAlive, std::optional<std::uint16_t>(30));
  EXPECT_EQ(c.assignedClientId, "id");
}

TEST(WireConnack, V5DefaultsAndRefusal) {
  Connack c;
  c.receiveMaximum = 1;  // reset by the parser
  ASSERT_TRUE(parseConnack(Version::V5, B({0, 0x87, 0}), c));
  EXPECT_EQ(c.reasonCode, 0x87);
  EXPECT_EQ(reasonName(c.reasonCode), "not_authorized");
  EXPECT_EQ(c.receiveMaximum, 65535);
  EXPECT_EQ(c.maximumQos, 2);
  EXPECT_TRUE(c.retainAvailable);
  EXPECT_FALSE(c.serverKeepAlive);
  // A 3.1.1-only broker answering a v5 CONNECT: no property length.
  ASSERT_TRUE(parseConnack(Version::V5, B({0, 1}), c));
  EXPECT_EQ(c.reasonCode, 1);
}

TEST(WireConnack, V3RefusedAndMalformed) {
  Connack c;
  ASSERT_TRUE(parseConnack(Version::V311, B({0, 5}), c));
  EXPECT_EQ(c.reasonCode, 5);
  EXPECT_FALSE(c.sessionPresent);
  EXPECT_EQ(v3ConnackName(c.reasonCode), "not_authorized");
  std::string err;
  EXPECT_FALSE(parseConnack(Version::V311, B({0, 0, 0}), c, &err));  // trailing
  EXPECT_FALSE(err.empty());
  EXPECT_FALSE(parseConnack(Version::V311, B({0}), c));
  EXPECT_FALSE(parseConnack(Version::V311, B({0x02, 0}), c));            // reserved flag bit
  EXPECT_FALSE(parseConnack(Version::V5, B({0, 0, 3, 0x21, 0, 0}), c));  // receive max 0
  EXPECT_FALSE(parseConnack(Version::V5, B({0, 0, 2, 0x24, 2}), c));     // maximum qos 2
  EXPECT_FALSE(parseConnack(Version::V5, B({0, 0, 9, 0x21, 0, 1}), c));  // beyond body
  EXPECT_FALSE(parseConnack(Version::V5, B({0, 0, 2, 0x00, 0}), c));     // unknown id
  EXPECT_FALSE(parseConnack(Version::V5, B({0, 0, 6, 0x21, 0, 1, 0x21, 0, 2}), c));  // twice
  EXPECT_FALSE(parseConnack(Version::V5, B({0, 0, 5, 0x02, 0, 0, 0, 1}), c));  // not CONNACK's
  EXPECT_FALSE(parseConnack(Version::V5, B({0, 0, 2, 0x28, 2}), c));  // availability flag 2
  EXPECT_FALSE(parseConnack(Version::V5, B({0, 0, 5, 0x1F, 0, 2, 0xC3, 0x28}), c));  // UTF-8
  EXPECT_FALSE(parseConnack(Version::V5, B({0, 0x10, 0}), c));  // not a CONNACK code
  EXPECT_FALSE(parseConnack(Version::V311, B({1, 5}), c));      // session present with a refusal
}

// --- names ---

TEST(WireNames, ReasonNames) {
  EXPECT_EQ(reasonName(0x87), "not_authorized");
  EXPECT_EQ(reasonName(0x86), "bad_user_name_or_password");
  EXPECT_EQ(reasonName(0x88), "server_unavailable");
  EXPECT_EQ(reasonName(0x97), "quota_exceeded");
  EXPECT_EQ(reasonName(0x95), "packet_too_large");
  EXPECT_EQ(reasonName(0x93), "receive_maximum_exceeded");
  EXPECT_EQ(reasonName(0x90), "topic_name_invalid");
  EXPECT_EQ(reasonName(0x83), "implementation_specific_error");
  EXPECT_EQ(reasonName(0x80), "unspecified_error");
  EXPECT_EQ(reasonName(0x00), "normal_disconnection");
  EXPECT_EQ(reasonName(0x8E), "session_taken_over");
  EXPECT_EQ(reasonName(0x8D), "keep_alive_timeout");
  EXPECT_EQ(reasonName(0x10), "no_matching_subscribers");
  EXPECT_EQ(reasonName(0xA2), "wildcard_subscriptions_not_supported");
  EXPECT_EQ(reasonName(3), "reason_3");
  EXPECT_EQ(reasonName(0xFF), "reason_255");
  int named = 0;
  for (int c = 0; c < 256; ++c) {
    if (reasonName(static_cast<std::uint8_t>(c)).rfind("reason_", 0) != 0) {
      ++named;
    }
  }
  EXPECT_EQ(named, 43);  // every code of MQTT 5 §2.4
}

TEST(WireNames, V3ConnackNames) {
  EXPECT_EQ(v3ConnackName(1), "unacceptable_protocol_version");
  EXPECT_EQ(v3ConnackName(2), "identifier_rejected");
  EXPECT_EQ(v3ConnackName(3), "server_unavailable");
  EXPECT_EQ(v3ConnackName(4), "bad_username_or_password");
  EXPECT_EQ(v3ConnackName(5), "not_authorized");
  EXPECT_EQ(v3ConnackName(6), "return_code_6");
}

}  // namespace
}  // namespace mqb::mqtt::wire
