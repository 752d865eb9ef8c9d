// MQTT layer pieces that need no broker: URIs, reason names, the timer.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "sources/mqtt/client.h"
#include "sources/mqtt/timer.h"

namespace mqb::sources {
namespace {

using namespace std::chrono_literals;

config::BrokerConnection broker(const std::string& host, int port, bool tls,
                                config::Transport t = config::Transport::Mqtt) {
  config::BrokerConnection b;
  b.host = host;
  b.port = static_cast<std::uint16_t>(port);
  b.tls.enabled = tls;
  b.transport = t;
  return b;
}

TEST(BrokerUri, SchemesFollowTransportAndTls) {
  EXPECT_EQ(brokerUri(broker("edge", 1883, false)), "tcp://edge:1883");
  EXPECT_EQ(brokerUri(broker("cloud.example", 8883, true)), "ssl://cloud.example:8883");
  EXPECT_EQ(brokerUri(broker("h", 80, false, config::Transport::WebSocket)), "ws://h:80");
  EXPECT_EQ(brokerUri(broker("h", 443, true, config::Transport::WebSocket)), "wss://h:443");
}

TEST(BrokerUri, Ipv6LiteralsGetBrackets) {
  EXPECT_EQ(brokerUri(broker("::1", 1883, false)), "tcp://[::1]:1883");
  EXPECT_EQ(brokerUri(broker("fe80::1", 8883, true)), "ssl://[fe80::1]:8883");
}

TEST(ReasonName, IsSnakeCaseForLabels) {
  EXPECT_EQ(reasonName(0x87), "not_authorized");
  EXPECT_EQ(reasonName(0x86), "bad_user_name_or_password");
  EXPECT_EQ(reasonName(0x85), "client_identifier_not_valid");
}

TEST(Timer, RunsInTimeOrderAndCancels) {
  Timer timer;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> order;
  auto push = [&](int v) {
    std::lock_guard<std::mutex> lk(mu);
    order.push_back(v);
    cv.notify_all();
  };
  const auto now = Timer::Clock::now();
  timer.schedule(now + 30ms, [&] { push(3); });
  timer.schedule(now + 10ms, [&] { push(1); });
  auto cancelled = timer.schedule(now + 20ms, [&] { push(99); });
  timer.schedule(now + 20ms, [&] { push(2); });
  timer.cancel(cancelled);
  std::unique_lock<std::mutex> lk(mu);
  ASSERT_TRUE(cv.wait_for(lk, 5s, [&] { return order.size() == 3; }));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(Timer, CancelWaitsForARunningCallback) {
  Timer timer;
  std::atomic<bool> entered{false};
  std::atomic<bool> finished{false};
  std::promise<void> go;
  std::shared_future<void> gate = go.get_future().share();
  auto id = timer.after(0ms, [&] {
    entered = true;
    gate.wait();  // blocks until the test lets go
    finished = true;
  });
  while (!entered) {
    std::this_thread::yield();
  }
  std::thread releaser([&] {
    std::this_thread::sleep_for(20ms);  // give cancel() time to start waiting
    go.set_value();
  });
  timer.cancel(id);
  EXPECT_TRUE(finished.load());  // cancel returned only after the callback did
  releaser.join();
}

TEST(Timer, CallbackMayScheduleAnother) {
  Timer timer;
  std::mutex mu;
  std::condition_variable cv;
  bool second = false;
  timer.after(0ms, [&] {
    timer.after(1ms, [&] {
      std::lock_guard<std::mutex> lk(mu);
      second = true;
      cv.notify_all();
    });
  });
  std::unique_lock<std::mutex> lk(mu);
  EXPECT_TRUE(cv.wait_for(lk, 5s, [&] { return second; }));
}

}  // namespace
}  // namespace mqb::sources
