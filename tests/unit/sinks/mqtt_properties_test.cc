// v5 property conversion between Paho and the pipeline: per-hop properties are dropped, user
// properties keep their order, the hop marker is added once, and the expiry can be replaced.

#include <MQTTAsync.h>
#include <gtest/gtest.h>

#include <cstring>

#include "sinks/mqtt/mqtt_sink.h"
#include "sources/mqtt/mqtt_source.h"

namespace mqb::sinks {
namespace {

class MqttProperties : public ::testing::Test {
 protected:
  // Debian's Paho aborts if properties are built before the first client exists (NOTES §1.8).
  void SetUp() override {
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
    ASSERT_EQ(MQTTAsync_createWithOptions(&client_, "tcp://127.0.0.1:1", "props-unit",
                                          MQTTCLIENT_PERSISTENCE_NONE, nullptr, &co),
              MQTTASYNC_SUCCESS);
  }
  void TearDown() override { MQTTAsync_destroy(&client_); }
  MQTTAsync client_ = nullptr;
};

TEST_F(MqttProperties, RoundTripKeepsOrderAndAddsTheMarkerOnce) {
  pipeline::Properties in;
  in.user = {{"k", "1"}, {"j", "2"}, {"k", "3"}};
  in.contentType = "text/plain";
  in.payloadFormat = 1;
  in.messageExpirySeconds = 60;
  in.responseTopic = "r/t";
  in.correlationData = std::string("\x00\x7f", 2);
  MQTTProperties p = toPaho(in, "hop", "conn-a", 42u);
  pipeline::Properties out = sources::fromPaho(p);
  MQTTProperties_free(&p);
  ASSERT_EQ(out.user.size(), 4u);
  EXPECT_EQ(out.user[0], (pipeline::UserProperty{"k", "1"}));
  EXPECT_EQ(out.user[2], (pipeline::UserProperty{"k", "3"}));
  EXPECT_EQ(out.user[3], (pipeline::UserProperty{"hop", "conn-a"}));
  EXPECT_EQ(out.contentType, "text/plain");
  EXPECT_EQ(out.payloadFormat, 1);
  EXPECT_EQ(out.messageExpirySeconds, 42u);  // the reduced value, not the original 60
  EXPECT_EQ(out.responseTopic, "r/t");
  EXPECT_EQ(out.correlationData, std::string("\x00\x7f", 2));

  // Forwarding again does not stack a second marker.
  MQTTProperties again = toPaho(out, "hop", "conn-a");
  EXPECT_EQ(sources::fromPaho(again).user.size(), 4u);
  MQTTProperties_free(&again);
}

TEST_F(MqttProperties, PerHopPropertiesAreDropped) {
  MQTTProperties p = MQTTProperties_initializer;
  MQTTProperty sub;
  std::memset(&sub, 0, sizeof sub);
  sub.identifier = MQTTPROPERTY_CODE_SUBSCRIPTION_IDENTIFIER;
  sub.value.integer4 = 7;
  MQTTProperties_add(&p, &sub);
  MQTTProperty alias;
  std::memset(&alias, 0, sizeof alias);
  alias.identifier = MQTTPROPERTY_CODE_TOPIC_ALIAS;
  alias.value.integer2 = 3;
  MQTTProperties_add(&p, &alias);
  const pipeline::Properties out = sources::fromPaho(p);
  MQTTProperties_free(&p);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace mqb::sinks
