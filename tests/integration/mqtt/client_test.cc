// mqtt::Client (mqbridge's own MQTT client) against real mosquitto brokers, for what the route
// tests do not show directly: keep-alive on an idle connection, SUBACK/UNSUBACK results, PUBACK
// callbacks with their cookies, v3.1.1 and v5 on one broker, a stop() that interrupts a connect in
// progress, reconnect after the broker restarts, and batched delivery of a burst.

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "app/runtime/client_options.h"
#include "mqtt/client.h"
#include "mqtt/wire/codec.h"
#include "tests/integration/mqtt/mqtt_test_util.h"
#include "tests/support/scripted_broker.h"

namespace mqb::test {
namespace {

using namespace std::chrono_literals;
using mqtt::Client;

class Recorder final : public mqtt::ClientListener {
 public:
  void onConnected(const mqtt::ConnectInfo& info) noexcept override {
    std::lock_guard<std::mutex> lk(mu);
    ++connects;
    last = info;
  }
  void onConnectionLost(const mqtt::Failure& why) noexcept override {
    std::lock_guard<std::mutex> lk(mu);
    ++losses;
    lastLoss = why;
  }
  void onMessages(std::vector<mqtt::Message>& batch) noexcept override {
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
  void onPublishedBatch(
      std::vector<std::pair<std::uint64_t, std::uint8_t>>& batch) noexcept override {
    {
      std::lock_guard<std::mutex> lk(mu);
      ++ackBatches;
    }
    ClientListener::onPublishedBatch(batch);  // one onPublished each
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
  mqtt::ConnectInfo last;
  std::vector<mqtt::Message> messages;
  mqtt::Failure lastLoss;
  std::set<std::uint64_t> acked;
  std::vector<std::uint8_t> reasons;
  int ackBatches = 0;
};

mqtt::ClientOptions scriptedOptions(int port, const std::string& id) {
  mqtt::ClientOptions o;
  o.clientId = id;
  o.endpoint.host = "127.0.0.1";
  o.endpoint.port = port;
  o.keepAliveSeconds = 60;  // a missed wake-up would show as a wait of a minute, not a ping
  o.connectTimeout = 5s;
  return o;
}

mqtt::Client::Publish qos1(const std::string& payload) {
  mqtt::Client::Publish p;
  p.topic = "t";
  p.payload = payload;
  p.qos = 1;
  return p;
}

mqtt::ClientOptions optionsFor(const MosquittoBroker& b, const std::string& id,
                               config::MqttVersion v = config::MqttVersion::V5) {
  mqtt::ClientOptions o;
  o.clientId = id;
  o.endpoint = app::endpointOf(b.connection("tcp"));
  o.version = v == config::MqttVersion::V5 ? mqtt::Version::V5 : mqtt::Version::V311;
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
  mqtt::wire::SubscribeOptions o;
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
  mqtt::wire::SubscribeOptions o;
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

// A publisher that only waits for PUBACKs is woken for several at a time (SO_RCVLOWAT) and still
// gets every one, however the broker's bytes are cut: here the first ack arrives in two pieces
// 200 ms apart, the second straddles two writes, and the third comes alone.
TEST(MqttClient, AcksCutAcrossWritesAreAllDeliveredWithoutWaitingForMore) {
  ScriptedBroker server([](ScriptedBroker& s) {
    ASSERT_EQ(s.recvPackets(3).size(), 3u);  // three PUBLISHes, ids 1, 2, 3
    const std::string a1 = ScriptedBroker::puback(1), a2 = ScriptedBroker::puback(2);
    s.send(a1.substr(0, 2));
    std::this_thread::sleep_for(200ms);  // the test is about bytes that come apart in time
    s.send(a1.substr(2) + a2.substr(0, 1));
    std::this_thread::sleep_for(200ms);
    s.send(a2.substr(1));
    std::this_thread::sleep_for(200ms);
    s.send(ScriptedBroker::puback(3));
    s.recvPackets(1);  // the DISCONNECT (or EOF) at the end of the test
  });
  Recorder rec;
  Client c(scriptedOptions(server.port(), "client-cut-acks"), &rec);
  ASSERT_TRUE(c.start());
  ASSERT_TRUE(waitFor([&] { return c.connected(); }, 5s));
  for (std::uint64_t cookie = 1; cookie <= 3; ++cookie) {
    ASSERT_EQ(c.publish(qos1("m" + std::to_string(cookie)), cookie), Client::Send::Ok);
  }
  ASSERT_TRUE(waitFor([&] { return rec.with([&] { return rec.acked.size(); }) == 3; }, 5s))
      << "acked " << rec.with([&] { return rec.acked.size(); }) << " of 3";
  c.stop();
}

// The broker side of the trickle tests: PUBACKs for ids 1..n, one write each 2 ms apart (as
// mosquitto writes them), then the DISCONNECT (or EOF) at the end of the test.
void tricklePubacks(ScriptedBroker& s, std::uint16_t n) {
  for (std::uint16_t id = 1; id <= n; ++id) {
    s.send(ScriptedBroker::puback(id));
    std::this_thread::sleep_for(2ms);  // the test is about acks that come apart in time
  }
  s.recvPackets(1);
}

// Queues QoS 1 PUBLISHes with cookies first..last without sending, then sends them in one go.
void publishTogether(Client& c, std::uint64_t first, std::uint64_t last) {
  for (std::uint64_t cookie = first; cookie <= last; ++cookie) {
    Client::Publish p = qos1("m");
    p.defer = true;
    ASSERT_EQ(c.publish(p, cookie), Client::Send::Ok);
  }
  c.flush();
}

TEST(MqttClient, AcksTricklingInOneByOneWakeThePublisherForSeveralAtATime) {
  static constexpr std::uint16_t kCount = 40;
  ScriptedBroker server([](ScriptedBroker& s) {
    ASSERT_EQ(s.recvPackets(kCount).size(), kCount);
    tricklePubacks(s, kCount);
  });
  Recorder rec;
  Client c(scriptedOptions(server.port(), "client-trickle"), &rec);
  ASSERT_TRUE(c.start());
  ASSERT_TRUE(waitFor([&] { return c.connected(); }, 5s));
  ASSERT_NO_FATAL_FAILURE(publishTogether(c, 1, kCount));
  ASSERT_TRUE(waitFor([&] { return rec.with([&] { return rec.acked.size(); }) == kCount; }, 5s));
  // Receive Maximum 100: woken after 25 acks (100 bytes), then for the last 15 together; without
  // the low-water mark each of the 40 writes, 2 ms apart, is a wake-up and a batch of its own.
  EXPECT_LE(rec.with([&] { return rec.ackBatches; }), 6);
  c.stop();
}

// The I/O thread sets the mark for the packets in flight when it goes to sleep, often one or two;
// a publisher that sends more before their acknowledgements come raises it, so that the thread
// still wakes for several at a time.
TEST(MqttClient, PublishesSentWhileTheIoThreadSleepsRaiseItsLowWaterMark) {
  static constexpr std::uint16_t kCount = 40;
  std::atomic<bool> ackNow{false};
  ScriptedBroker server([&ackNow](ScriptedBroker& s) {
    ASSERT_EQ(s.recvPackets(kCount).size(), kCount);
    ASSERT_TRUE(waitFor([&] { return ackNow.load(); }, 5s));
    tricklePubacks(s, kCount);
  });
  Recorder rec;
  Client c(scriptedOptions(server.port(), "client-raise"), &rec);
  ASSERT_TRUE(c.start());
  ASSERT_TRUE(waitFor([&] { return c.connected(); }, 5s));
  ASSERT_EQ(c.publish(qos1("m"), 1), Client::Send::Ok);
  // One PUBLISH in flight: the mark is its PUBACK, 4 bytes.
  ASSERT_TRUE(waitFor([&] { return c.receiveLowWaterForTest() == 4; }, 5s))
      << "mark " << c.receiveLowWaterForTest();
  ASSERT_NO_FATAL_FAILURE(publishTogether(c, 2, kCount));
  // 40 in flight, Receive Maximum 100: a quarter of the window, 25 PUBACKs of 4 bytes.
  EXPECT_TRUE(waitFor([&] { return c.receiveLowWaterForTest() == 100; }, 5s))
      << "mark " << c.receiveLowWaterForTest();
  ackNow = true;
  ASSERT_TRUE(waitFor([&] { return rec.with([&] { return rec.acked.size(); }) == kCount; }, 5s));
  // Woken after 25 acks, then for the last 15; a mark left at 4 bytes wakes for the first alone.
  EXPECT_LE(rec.with([&] { return rec.ackBatches; }), 2);
  c.stop();
}

// Stretches the I/O thread's next sleep after every batch it is handed, as the source does while
// its route is backlogged.
class PacingListener final : public mqtt::ClientListener {
 public:
  explicit PacingListener(std::chrono::microseconds pace) : pace_(pace) {}
  void onConnected(const mqtt::ConnectInfo& info) noexcept override { rec.onConnected(info); }
  void onConnectionLost(const mqtt::Failure& why) noexcept override { rec.onConnectionLost(why); }
  void onMessages(std::vector<mqtt::Message>& batch) noexcept override {
    rec.onMessages(batch);
    if (Client* c = client.load()) {
      c->paceNextRead(pace_);
    }
  }

  Recorder rec;
  std::atomic<Client*> client{nullptr};

 private:
  std::chrono::microseconds pace_;
};

TEST(MqttClient, APacedSleepTakesWhatArrivedMeanwhileInOneRead) {
  static constexpr int kCount = 20;
  ScriptedBroker server([](ScriptedBroker& s) {
    for (int i = 0; i < kCount; ++i) {
      s.send(ScriptedBroker::publishQos0("t", cat("m", i)));
      std::this_thread::sleep_for(10ms);  // the test is about packets that come apart in time
    }
    s.recvPackets(1);  // the DISCONNECT (or EOF) at the end of the test
  });
  PacingListener l(150ms);
  Client c(scriptedOptions(server.port(), "client-paced"), &l);
  l.client = &c;
  ASSERT_TRUE(c.start());
  ASSERT_TRUE(
      waitFor([&] { return l.rec.with([&] { return l.rec.messages.size(); }) == kCount; }, 5s));
  l.rec.with([&] {
    for (int i = 0; i < kCount; ++i) {
      EXPECT_EQ(l.rec.messages[static_cast<std::size_t>(i)].payload, cat("m", i));
    }
    // 200 ms of packets 10 ms apart: read at the first, then after each 150 ms pause. Unpaced,
    // every packet is a wake-up and a batch of its own.
    EXPECT_LE(l.rec.batches, 4);
    return 0;
  });
  EXPECT_GE(c.pacedSleepsForTest(), 2u);
  c.stop();
}

TEST(MqttClient, StopEndsAPacedSleepAtOnce) {
  ScriptedBroker server([](ScriptedBroker& s) {
    s.send(ScriptedBroker::publishQos0("t", "m"));
    s.recvPackets(1);
  });
  PacingListener l(60s);
  Client c(scriptedOptions(server.port(), "client-paced-stop"), &l);
  l.client = &c;
  ASSERT_TRUE(c.start());
  ASSERT_TRUE(waitFor([&] { return c.pacedSleepsForTest() == 1; }, 5s));
  const auto t0 = std::chrono::steady_clock::now();
  c.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_EQ(l.rec.with([&] { return l.rec.messages.size(); }), 1u);
}

TEST(MqttClient, StopInterruptsAConnectThatNeverCompletes) {
  // A TCP peer that accepts and never answers: the client waits for a CONNACK that never comes.
  int port = 0;
  const int fd = listenOnLoopback(port);
  ASSERT_GE(fd, 0);
  mqtt::ClientOptions o = scriptedOptions(port, "client-blackhole");
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
