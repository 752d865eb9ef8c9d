// sources::Client (mqbridge's own MQTT client) against real mosquitto brokers, for what the route
// tests do not show directly: keep-alive on an idle connection, SUBACK/UNSUBACK results, PUBACK
// callbacks with their cookies, v3.1.1 and v5 on one broker, a stop() that interrupts a connect in
// progress, reconnect after the broker restarts, and batched delivery of a burst.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <set>
#include <vector>

#include "sources/mqtt/client.h"
#include "tests/integration/mqtt/mqtt_test_util.h"

namespace mqb::test {
namespace {

using namespace std::chrono_literals;
using sources::Client;

class Recorder final : public sources::ClientListener {
 public:
  void onConnected(const sources::ConnectInfo& info) noexcept override {
    std::lock_guard<std::mutex> lk(mu);
    ++connects;
    last = info;
  }
  void onConnectionLost() noexcept override {
    std::lock_guard<std::mutex> lk(mu);
    ++losses;
  }
  void onMessages(std::vector<pipeline::Message>& batch) noexcept override {
    std::lock_guard<std::mutex> lk(mu);
    ++batches;
    maxBatch = std::max(maxBatch, batch.size());
    for (auto& m : batch) {
      messages.push_back(std::move(m));
    }
  }
  void onPublished(std::uint64_t cookie, std::uint8_t reasonCode) noexcept override {
    std::lock_guard<std::mutex> lk(mu);
    acked.insert(cookie);
    reasons.push_back(reasonCode);
  }
  template <typename F>
  auto with(F f) {
    std::lock_guard<std::mutex> lk(mu);
    return f();
  }

  std::mutex mu;
  int connects = 0;
  int losses = 0;
  int batches = 0;
  std::size_t maxBatch = 0;
  sources::ConnectInfo last;
  std::vector<pipeline::Message> messages;
  std::set<std::uint64_t> acked;
  std::vector<std::uint8_t> reasons;
};

sources::ClientOptions optionsFor(const MosquittoBroker& b, const std::string& id,
                                  config::MqttVersion v = config::MqttVersion::V5) {
  sources::ClientOptions o;
  o.clientId = id;
  o.broker = b.connection("tcp");
  o.version = v;
  o.persistentSession = false;
  o.minRetry = 50ms;
  o.maxRetry = 200ms;
  o.connectTimeout = 5s;
  return o;
}

/// Subscribes and waits for the SUBACK; returns the first reason code (or 0xFF on timeout).
std::uint8_t subscribeAndWait(Client& c, const std::string& filter, std::uint8_t qos) {
  std::atomic<int> state{0};
  std::atomic<int> code{0xFF};
  sources::wire::SubscribeOptions o;
  o.qos = qos;
  EXPECT_EQ(c.subscribe(filter, o,
                        [&](bool ok, std::uint8_t rc) {
                          code = rc;
                          state = ok ? 1 : -1;
                        }),
            Client::Send::Ok);
  EXPECT_TRUE(waitFor([&] { return state.load() != 0; }, 5s));
  return static_cast<std::uint8_t>(code.load());
}

TEST(MqttClient, PublishesWithCookiesAndReceivesInBatchesV5AndV3) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.start());
  for (auto v : {config::MqttVersion::V5, config::MqttVersion::V3}) {
    const std::string tag = v == config::MqttVersion::V5 ? "v5" : "v3";
    Recorder subRec, pubRec;
    Client sub(optionsFor(broker, "client-sub-" + tag, v), &subRec);
    Client pub(optionsFor(broker, "client-pub-" + tag, v), &pubRec);
    ASSERT_TRUE(sub.start());
    ASSERT_TRUE(pub.start());
    ASSERT_TRUE(waitFor([&] { return sub.connected() && pub.connected(); }, 10s));
    EXPECT_EQ(subRec.with([&] { return subRec.last.v5; }), v == config::MqttVersion::V5);
    EXPECT_EQ(subscribeAndWait(sub, "cl/" + tag + "/#", 1), 1);  // granted QoS 1

    constexpr int kCount = 5000;
    int sent = 0;
    // Keep at most 20 unanswered (mosquitto's Receive Maximum), as the sink does.
    while (sent < kCount) {
      const auto acked = pubRec.with([&] { return pubRec.acked.size(); });
      if (static_cast<std::size_t>(sent) - acked >= 20) {
        ASSERT_TRUE(
            waitFor([&] { return pubRec.with([&] { return pubRec.acked.size(); }) > acked; }, 5s));
        continue;
      }
      const std::string payload = cat("m", sent);
      Client::Publish p;
      p.topic = "cl/" + tag + "/t";
      p.payload = payload;
      p.qos = 1;
      ASSERT_EQ(pub.publish(p, static_cast<std::uint64_t>(1000 + sent)), Client::Send::Ok);
      ++sent;
    }
    ASSERT_TRUE(
        waitFor([&] { return pubRec.with([&] { return pubRec.acked.size(); }) == kCount; }, 20s));
    ASSERT_TRUE(waitFor(
        [&] { return subRec.with([&] { return subRec.messages.size(); }) == kCount; }, 20s));
    subRec.with([&] {
      for (int i = 0; i < kCount; ++i) {
        EXPECT_EQ(subRec.messages[static_cast<std::size_t>(i)].payload, cat("m", i)) << tag;
      }
      // A burst arrives several PUBLISHes per read: the listener hears them as batches.
      EXPECT_LT(subRec.batches, kCount) << tag;
      return 0;
    });
    pubRec.with([&] {
      EXPECT_EQ(*pubRec.acked.begin(), 1000u);
      EXPECT_EQ(*pubRec.acked.rbegin(), 1000u + kCount - 1);
      for (auto r : pubRec.reasons) {
        EXPECT_LT(r, 0x80);
      }
      return 0;
    });
    std::atomic<int> unsub{0};
    ASSERT_EQ(
        sub.unsubscribe("cl/" + tag + "/#", [&](bool ok, std::uint8_t) { unsub = ok ? 1 : -1; }),
        Client::Send::Ok);
    ASSERT_TRUE(waitFor([&] { return unsub.load() != 0; }, 5s));
    EXPECT_EQ(unsub.load(), 1);
    pub.stop();
    sub.stop();
    EXPECT_FALSE(pub.connected());
    EXPECT_EQ(pub.publish(Client::Publish{}, 1), Client::Send::Disconnected);
  }
}

TEST(MqttClient, SubscribeRefusedByTheBrokerReportsTheReason) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.start());
  Recorder rec;
  Client c(optionsFor(broker, "client-badsub"), &rec);
  ASSERT_TRUE(c.start());
  ASSERT_TRUE(waitFor([&] { return c.connected(); }, 10s));
  // A shared subscription with an invalid group name is refused by mosquitto (v5 SUBACK >= 0x80)
  // or the broker disconnects us for the malformed filter: either way not "ok".
  std::atomic<int> state{0};
  sources::wire::SubscribeOptions o;
  ASSERT_EQ(
      c.subscribe("$share/bad+group/x", o, [&](bool ok, std::uint8_t) { state = ok ? 1 : -1; }),
      Client::Send::Ok);
  ASSERT_TRUE(waitFor([&] { return state.load() != 0; }, 5s));
  EXPECT_EQ(state.load(), -1);
}

TEST(MqttClient, KeepAliveHoldsAnIdleConnection) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.start());
  Recorder rec;
  auto o = optionsFor(broker, "client-keepalive");
  o.keepAliveSeconds = 1;  // the broker drops us after 1.5 s without a packet
  Client c(o, &rec);
  ASSERT_TRUE(c.start());
  ASSERT_TRUE(waitFor([&] { return c.connected(); }, 10s));
  // Idle for 4 keep-alive periods: PINGREQs keep the connection.
  EXPECT_FALSE(waitFor([&] { return rec.with([&] { return rec.losses; }) > 0; }, 4s));
  EXPECT_TRUE(c.connected());
  EXPECT_EQ(c.connectionsForTest(), 1u);
}

TEST(MqttClient, ReconnectsAfterTheBrokerRestarts) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.start());
  Recorder rec;
  Client c(optionsFor(broker, "client-restart"), &rec);
  ASSERT_TRUE(c.start());
  ASSERT_TRUE(waitFor([&] { return c.connected(); }, 10s));
  ASSERT_TRUE(broker.restart(true));  // SIGKILL, then the same port
  ASSERT_TRUE(waitFor([&] { return rec.with([&] { return rec.connects; }) >= 2; }, 15s));
  EXPECT_GE(rec.with([&] { return rec.losses; }), 1);
  EXPECT_TRUE(c.connected());
}

TEST(MqttClient, StopInterruptsAConnectThatNeverCompletes) {
  // A TCP peer that accepts and never answers: the client waits for a CONNACK that never comes.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  sources::ClientOptions o;
  o.clientId = "client-blackhole";
  o.broker.host = "127.0.0.1";
  o.broker.port = ntohs(a.sin_port);
  o.connectTimeout = 30s;
  Recorder rec;
  Client c(o, &rec);
  ASSERT_TRUE(c.start());
  // Accept the connection (the client has sent or is sending CONNECT) and never answer.
  pollfd pfd{fd, POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 5000), 1);
  const int peer = accept(fd, nullptr, nullptr);
  ASSERT_GE(peer, 0);
  const auto t0 = std::chrono::steady_clock::now();
  c.stop();
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, 2s);
  EXPECT_FALSE(c.connected());
  EXPECT_EQ(rec.with([&] { return rec.connects; }), 0);
  close(peer);
  close(fd);
}

}  // namespace
}  // namespace mqb::test
