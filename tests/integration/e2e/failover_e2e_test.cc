// Failover between remote endpoints through the real `mqbridge run` binary: messages flow
// local -> remote at a steady rate while the first remote broker (the connection's `endpoint`) is
// stopped, the bridge carries on on the failover endpoint, the first broker starts again and the
// bridge returns to it. Readers on both remote brokers (persistent sessions, so that what the
// first broker took before it stopped is delivered after it restarts) count every message: none
// lost at QoS 1, duplicates reported. The longest time without any message arriving while failing
// over and while returning is printed, and the endpoint in use is checked in the metrics and on
// the status topic.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "tests/integration/e2e/e2e_util.h"
#include "tests/integration/mqtt/mqtt_test_util.h"

namespace mqb::test::e2e {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// Publishes "m<i>" on the local broker every `period` until stopped; remembers how many.
class SteadyPublisher {
 public:
  SteadyPublisher(const MosquittoBroker& local, std::chrono::milliseconds period)
      : client_(clientOf(local, "test-local-pub")), period_(period) {}
  ~SteadyPublisher() { stop(); }
  bool start() {
    if (!client_.connect()) {
      return false;
    }
    thread_ = std::thread([this] {
      auto next = Clock::now();
      while (!stop_.load()) {
        std::string payload = "m";
        payload.append(std::to_string(sent_.load()));
        if (client_.publish("fo/t", payload, 1)) {
          sent_.fetch_add(1);
        }
        next += period_;
        std::this_thread::sleep_until(next);
      }
    });
    return true;
  }
  void stop() {
    stop_.store(true);
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  std::size_t sent() const { return sent_.load(); }

 private:
  TestClient client_;
  std::chrono::milliseconds period_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> sent_{0};
};

/// Samples the number of messages the readers hold every millisecond or two and keeps the
/// longest stretch without growth inside each marked phase.
class GapMeter {
 public:
  explicit GapMeter(std::function<std::size_t()> count) : count_(std::move(count)) {
    thread_ = std::thread([this] { run(); });
  }
  ~GapMeter() {
    stop_.store(true);
    thread_.join();
  }
  /// From now on gaps count for `phase`.
  void phase(const std::string& name) {
    std::lock_guard<std::mutex> lk(mu_);
    phase_ = name;
  }
  std::chrono::milliseconds longest(const std::string& phase) {
    std::lock_guard<std::mutex> lk(mu_);
    return longest_[phase];
  }

 private:
  void run() {
    std::size_t last = count_();
    auto since = Clock::now();
    while (!stop_.load()) {
      std::this_thread::sleep_for(1ms);
      const std::size_t n = count_();
      const auto now = Clock::now();
      std::lock_guard<std::mutex> lk(mu_);
      const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(now - since);
      auto& l = longest_[phase_];
      l = std::max(l, gap);
      if (n != last) {
        last = n;
        since = now;
      }
    }
  }

  std::function<std::size_t()> count_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::string phase_ = "steady";
  std::map<std::string, std::chrono::milliseconds> longest_;
};

TEST(E2eFailover, FirstBrokerStoppedAndRestarted) {
  MosquittoBroker local;
  BrokerOptions po;
  po.persistence = true;  // its reader's session and queue survive the stop
  MosquittoBroker primary(po);
  MosquittoBroker secondary;
  ASSERT_TRUE(local.start());
  ASSERT_TRUE(primary.start()) << primary.logText();
  ASSERT_TRUE(secondary.start());

  BridgeRunner bridge;
  Conn r{primary.endpoint("tcp")};
  r.extra = cat("failover:\n  endpoints: [\"", secondary.endpoint("tcp"),
                "\"]\n  primaryCheckSeconds: 1\n");
  bridge.writeConfig("connector.yaml", connectorYaml("fo", "v5", "\"\"", r, plain(local)));
  bridge.writeConfig("topic-map.yaml",
                     topicMapYaml("fo-map", "fo", R"(    - direction: local-to-remote
      name: fo
      source: fo/#
)"));
  ASSERT_TRUE(bridge.start()) << bridge.log();

  TestClientOptions ro = clientOf(primary, "test-primary-sub");
  ro.cleanStart = false;
  auto readerA = std::make_unique<TestClient>(ro);
  ASSERT_TRUE(readerA->connect()) << readerA->lastError();
  ASSERT_TRUE(readerA->subscribe("fo/#", 1));
  TestClient readerB(clientOf(secondary, "test-secondary-sub"));
  ASSERT_TRUE(readerB.connect());
  ASSERT_TRUE(readerB.subscribe("fo/#", 1));
  TestClient status(clientOf(local, "test-status-sub"));
  ASSERT_TRUE(status.connect());
  ASSERT_TRUE(status.subscribe("mqbridge/fo/status/remote-endpoint", 1));

  std::unique_ptr<TestClient> readerA2;  // the primary's reader again, after the restart
  std::mutex readersMu;
  auto total = [&] {
    std::lock_guard<std::mutex> lk(readersMu);
    return readerA->receivedCount() + readerB.receivedCount() +
           (readerA2 ? readerA2->receivedCount() : 0);
  };
  GapMeter gaps(total);
  SteadyPublisher pub(local, 5ms);  // 200 messages/s
  ASSERT_TRUE(pub.start());
  ASSERT_TRUE(waitFor([&] { return total() >= 100; }, 5s)) << bridge.log();

  gaps.phase("failover");
  primary.stop();
  ASSERT_TRUE(waitFor([&] { return readerB.receivedCount() >= 50; }, 10s)) << bridge.log();
  EXPECT_EQ(bridge.metric("mqbridge_client_endpoint_index", {"client=\"pub-0\""}), 1);
  gaps.phase("on failover endpoint");
  const std::size_t onFailover = readerB.receivedCount();  // 100 more there: about 0.5 s
  ASSERT_TRUE(waitFor([&] { return readerB.receivedCount() >= onFailover + 100; }, 10s))
      << bridge.log();

  gaps.phase("return");
  ASSERT_TRUE(primary.start()) << primary.logText();
  {
    auto again = std::make_unique<TestClient>(ro);
    ASSERT_TRUE(again->connect()) << again->lastError();  // session kept: no new subscribe
    std::lock_guard<std::mutex> lk(readersMu);
    readerA2 = std::move(again);
  }
  ASSERT_TRUE(waitFor(
      [&] { return bridge.metric("mqbridge_client_endpoint_index", {"client=\"pub-0\""}) == 0; },
      10s))
      << bridge.log();
  ASSERT_TRUE(waitFor([&] { return readerA2->receivedCount() >= 50; }, 10s)) << bridge.log();
  gaps.phase("back on endpoint");
  pub.stop();

  const std::size_t sent = pub.sent();
  std::vector<const TestClient*> readers{readerA.get(), &readerB, readerA2.get()};
  auto unique = [&] {
    std::set<std::string> u;
    for (const auto* c : readers) {
      for (const auto& m : on(*c, "fo/t")) {
        u.insert(m.payload);
      }
    }
    return u.size();
  };
  waitFor([&] { return unique() >= sent; }, 10s);
  std::map<std::string, int> seen;
  for (const auto* c : readers) {
    for (const auto& m : on(*c, "fo/t")) {
      ++seen[m.payload];
    }
  }
  std::size_t lost = 0;
  std::size_t duplicated = 0;
  for (std::size_t i = 0; i < sent; ++i) {
    const auto it = seen.find(cat("m", static_cast<int>(i)));
    lost += it == seen.end() ? 1 : 0;
    duplicated += it == seen.end() ? 0 : static_cast<std::size_t>(it->second - 1);
  }
  std::printf(
      "[netpath] failover: sent %zu, lost %zu, duplicated %zu; on the failover endpoint %zu; "
      "longest time without forwarding: failing over %lld ms, returning %lld ms\n",
      sent, lost, duplicated, readerB.receivedCount(),
      static_cast<long long>(gaps.longest("failover").count()),
      static_cast<long long>(gaps.longest("return").count()));
  EXPECT_EQ(lost, 0u) << bridge.log();
  EXPECT_NE(bridge.log().find("returning_to_primary"), std::string::npos) << bridge.log();

  // The status topic names the endpoint in use: the failover one, then the first again.
  std::vector<std::string> states = payloads(on(status, "mqbridge/fo/status/remote-endpoint"));
  ASSERT_FALSE(states.empty());
  EXPECT_EQ(states.back(), cat("{\"endpoint\":\"", primary.endpoint("tcp"), "\",\"index\":0}"));
  EXPECT_NE(std::find(states.begin(), states.end(),
                      cat("{\"endpoint\":\"", secondary.endpoint("tcp"), "\",\"index\":1}")),
            states.end());
  EXPECT_EQ(bridge.stop(), 0) << bridge.log();
}

}  // namespace
}  // namespace mqb::test::e2e
