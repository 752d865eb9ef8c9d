// common::Timer: time order, cancel, a callback that schedules another.

#include "common/timer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace mqb::common {
namespace {

using namespace std::chrono_literals;

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
}  // namespace mqb::common
