// The sink's v5 property forwarding: what it hands the client is exactly what arrives on the
// other side (encoded by mqtt/wire, decoded the way the source's client decodes).

#include <gtest/gtest.h>

#include "mqtt/wire/codec.h"
#include "sinks/mqtt/mqtt_sink.h"

namespace mqb::sinks {
namespace {

using mqtt::wire::Version;

/// Encodes a PUBLISH the way the sink does and decodes it the way the source does.
pipeline::Message roundTrip(const pipeline::Properties& props, const pipeline::UserProperty& marker,
                            std::optional<std::uint32_t> expiry = std::nullopt) {
  std::string bytes;
  mqtt::wire::encodePublish(Version::V5, "t/1", "payload", 1, false, false, 7, &props,
                            markerFor(props, marker), expiry, bytes);
  mqtt::wire::Decoder d;
  d.feed(bytes.data(), bytes.size());
  mqtt::wire::Packet p{};
  EXPECT_EQ(d.next(p), mqtt::wire::Decoder::Status::Ok);
  pipeline::Message m;
  mqtt::wire::PublishHeader h;
  EXPECT_EQ(mqtt::wire::parsePublish(Version::V5, p.flags, p.body, m, h),
            mqtt::wire::PublishStatus::Ok);
  EXPECT_EQ(h.packetId, 7);
  return m;
}

TEST(MqttProperties, RoundTripKeepsOrderAndAddsTheMarkerOnce) {
  pipeline::Properties in;
  in.user = {{"k", "1"}, {"j", "2"}, {"k", "3"}};
  in.contentType = "text/plain";
  in.payloadFormat = 1;
  in.messageExpirySeconds = 60;
  in.responseTopic = "r/t";
  in.correlationData = std::string("\x00\x7f", 2);
  const pipeline::UserProperty marker{"hop", "conn-a"};
  const pipeline::Properties out = roundTrip(in, marker, 42u).props;
  ASSERT_EQ(out.user.size(), 4u);
  EXPECT_EQ(out.user[0], (pipeline::UserProperty{"k", "1"}));
  EXPECT_EQ(out.user[2], (pipeline::UserProperty{"k", "3"}));
  EXPECT_EQ(out.user[3], marker);
  EXPECT_EQ(out.contentType, "text/plain");
  EXPECT_EQ(out.payloadFormat, 1);
  EXPECT_EQ(out.messageExpirySeconds, 42u);  // the reduced value, not the original 60
  EXPECT_EQ(out.responseTopic, "r/t");
  EXPECT_EQ(out.correlationData, std::string("\x00\x7f", 2));

  // Forwarding again does not stack a second marker.
  EXPECT_EQ(markerFor(out, marker), nullptr);
  EXPECT_EQ(roundTrip(out, marker).props.user.size(), 4u);
}

TEST(MqttProperties, NoMarkerWithoutAValue) {
  const pipeline::UserProperty none{"hop", ""};
  EXPECT_EQ(markerFor({}, none), nullptr);
  EXPECT_TRUE(roundTrip({}, none).props.empty());
  const pipeline::UserProperty marker{"hop", "c"};
  EXPECT_EQ(markerFor({}, marker), &marker);
}

}  // namespace
}  // namespace mqb::sinks
