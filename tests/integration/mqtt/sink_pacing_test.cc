// MqttSink against a scripted broker, for a timing mosquitto does not produce on demand: PUBACKs
// that come back one at a time, each a moment after its PUBLISH, while messages keep flowing.

#include <thread>

#include "sinks/mqtt/mqtt_sink.h"
#include "tests/integration/mqtt/mqtt_test_util.h"
#include "tests/support/pipeline_fixtures.h"
#include "tests/support/scripted_broker.h"

namespace mqb::test {
namespace {

using mqb::testing::CountingTracker;

pipeline::Batch one(CountingTracker& s, std::uint64_t token) {
  pipeline::Message m;
  m.topic.append("t");
  m.payload.append("p");
  m.qos = 1;
  m.completion = pipeline::Completion(&s, token);
  pipeline::Batch b;
  b.push_back(std::move(m));
  return b;
}

// A lone message's PUBACK is read as it comes. In a steady flow (a message each 200 µs, the
// broker acknowledging each PUBLISH when the next one arrives, so one is always in flight) the
// publisher's I/O thread reads them on a timer, several at a time, though the window (Receive
// Maximum 100) never fills.
TEST(MqttSinkPacing, PubacksOfASteadyFlowAreReadInPacedBatchesALoneOneAtOnce) {
  static constexpr std::uint16_t kLone = 5;
  static constexpr std::uint16_t kSteady = 300;
  ScriptedBroker server([](ScriptedBroker& s) {
    for (std::uint16_t id = 1; id <= kLone; ++id) {
      ASSERT_EQ(s.recvPackets(1).size(), 1u);
      s.send(ScriptedBroker::puback(id));
    }
    for (std::uint16_t id = kLone + 1; id <= kLone + kSteady; ++id) {
      ASSERT_EQ(s.recvPackets(1).size(), 1u);
      if (id > kLone + 1) {
        s.send(ScriptedBroker::puback(static_cast<std::uint16_t>(id - 1)));
      }
    }
    s.send(ScriptedBroker::puback(kLone + kSteady));
    s.recvPackets(1);  // the DISCONNECT (or EOF) at the end of the test
  });
  mqtt::ClientOptions o;
  o.clientId = "sink-pacing";
  o.endpoint.host = "127.0.0.1";
  o.endpoint.port = server.port();
  o.keepAliveSeconds = 60;
  o.connectTimeout = 5s;
  CountingTracker settled;
  sinks::MqttSink sink(o, sinks::SinkOptions{});
  sink.setRelease([](std::size_t) {});
  sink.start();
  ASSERT_TRUE(waitFor([&] { return sink.ready(); }, 5s));

  for (std::uint64_t token = 1; token <= kLone; ++token) {
    sink.write(one(settled, token));
    ASSERT_TRUE(waitFor([&] { return settled.total() == token; }, 5s));
    std::this_thread::sleep_for(5ms);  // the input: lone messages, further apart than a flow
  }
  EXPECT_EQ(sink.client().pacedSleepsForTest(), 0u);

  for (std::uint64_t token = kLone + 1; token <= kLone + kSteady; ++token) {
    sink.write(one(settled, token));
    std::this_thread::sleep_for(200us);  // the input: a steady flow of 5,000 msg/s at most
  }
  ASSERT_TRUE(waitFor([&] { return settled.total() == kLone + kSteady; }, 10s)) << settled.total();
  EXPECT_GT(sink.client().pacedSleepsForTest(), 10u);
  EXPECT_LT(sink.maxOutstandingForTest(), 100u);  // paced with the window open
  sink.stop();
  EXPECT_EQ(settled.count(pipeline::Outcome::Delivered), kLone + kSteady);
  EXPECT_EQ(settled.total(), kLone + kSteady);  // each once
}

}  // namespace
}  // namespace mqb::test
