#pragma once
// Injectable time source: stages that depend on time (rate_limit, ttl) take a Clock so that tests
// advance time by hand instead of sleeping.

#include <atomic>
#include <chrono>

namespace mqb::pipeline {

using SteadyTime = std::chrono::steady_clock::time_point;
using Nanos = std::chrono::nanoseconds;

/// Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual SteadyTime now() const noexcept = 0;
};

class SystemClock final : public Clock {
 public:
  SteadyTime now() const noexcept override { return std::chrono::steady_clock::now(); }
  static const SystemClock& instance() noexcept {
    static const SystemClock c;
    return c;
  }
};

/// A clock that only moves when told to (tests).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(SteadyTime start = SteadyTime{} + std::chrono::hours(1)) : t_(start) {}
  SteadyTime now() const noexcept override { return t_.load(); }
  void advance(Nanos d) noexcept { t_.store(t_.load() + d); }
  void set(SteadyTime t) noexcept { t_.store(t); }

 private:
  std::atomic<SteadyTime> t_;
};

}  // namespace mqb::pipeline
