#pragma once
// A small timer thread: subscription retries, overflow retries, rate-limit and backoff wake-ups.
// Callbacks of a client's I/O thread must never sleep, so they schedule work here.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace mqb::common {

/// One thread running short callbacks at given steady-clock times. Thread-safe.
/// Callbacks must be short and must not block on the network; they may call an MQTT client's API
/// (they do not run on its I/O thread). A callback may schedule or cancel other timers.
class Timer {
 public:
  using Id = std::uint64_t;
  using Clock = std::chrono::steady_clock;

  Timer();
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  /// The process-wide timer shared by all MQTT clients.
  static Timer& shared();

  /// Runs `fn` at `at` (or as soon as possible if in the past). Returns an id for cancel().
  Id schedule(Clock::time_point at, std::function<void()> fn);
  Id after(std::chrono::milliseconds delay, std::function<void()> fn) {
    return schedule(Clock::now() + delay, std::move(fn));
  }

  /// Cancels a pending callback. If it is running right now on the timer thread, waits until it
  /// returned (unless called from the timer thread itself). Unknown ids are ignored.
  void cancel(Id id);

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable doneCv_;
  std::multimap<Clock::time_point, Id> byTime_;
  std::unordered_map<Id, std::pair<Clock::time_point, std::function<void()>>> entries_;
  Id nextId_ = 1;
  Id running_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace mqb::common
