// MqttSink rules that need no broker: while it is not connected, QoS 0 is dropped and counted,
// QoS 1 is held; stop() settles what is left exactly once and releases it.

#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "sinks/mqtt/mqtt_sink.h"

namespace mqb::sinks {
namespace {

using namespace std::chrono_literals;

class Recorder final : public pipeline::DeliveryTracker {
 public:
  void settle(std::uint64_t token, pipeline::Outcome outcome) noexcept override {
    std::lock_guard<std::mutex> lk(mu_);
    outcomes_[token].push_back(outcome);
  }
  std::map<std::uint64_t, std::vector<pipeline::Outcome>> outcomes() const {
    std::lock_guard<std::mutex> lk(mu_);
    return outcomes_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::uint64_t, std::vector<pipeline::Outcome>> outcomes_;
};

pipeline::Message message(Recorder& r, std::uint64_t token, int qos) {
  pipeline::Message m;
  m.topic.append("t");
  m.payload.append("p");
  m.qos = static_cast<std::uint8_t>(qos);
  m.completion = pipeline::Completion(&r, token);
  return m;
}

mqtt::ClientOptions unreachable() {
  mqtt::ClientOptions o;
  o.clientId = "sink-unit";
  o.endpoint.host = "127.0.0.1";
  o.endpoint.port = 1;  // never started: the sink stays disconnected
  return o;
}

TEST(MqttSinkDisconnected, DropsQos0HoldsQos1AndSettlesEverythingOnceAtStop) {
  Recorder rec;
  std::size_t released = 0;
  MqttSink sink(unreachable(), SinkOptions{});
  sink.setRelease([&](std::size_t n) { released += n; });
  pipeline::Batch batch;
  batch.push_back(message(rec, 1, 0));
  batch.push_back(message(rec, 2, 1));
  batch.push_back(message(rec, 3, 0));  // behind a waiting QoS 1: keeps its place
  sink.write(std::move(batch));
  EXPECT_FALSE(sink.ready());
  auto o = rec.outcomes();
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o[1], std::vector<pipeline::Outcome>{pipeline::Outcome::Dropped});
  EXPECT_EQ(sink.heldForTest(), 2u);
  EXPECT_EQ(released, 1u);

  sink.stop(10ms);
  o = rec.outcomes();
  ASSERT_EQ(o.size(), 3u);
  for (auto& [token, outcomes] : o) {
    EXPECT_EQ(outcomes, std::vector<pipeline::Outcome>{pipeline::Outcome::Dropped}) << token;
  }
  EXPECT_EQ(released, 3u);
  EXPECT_EQ(sink.heldForTest(), 0u);

  // After stop, writes are refused (settled and released at once).
  pipeline::Batch late;
  late.push_back(message(rec, 4, 1));
  sink.write(std::move(late));
  EXPECT_EQ(rec.outcomes()[4], std::vector<pipeline::Outcome>{pipeline::Outcome::Dropped});
  EXPECT_EQ(released, 4u);
}

}  // namespace
}  // namespace mqb::sinks
