#pragma once
// synthetic source: a generator thread that produces messages for load tests and benchmarks.
//
// Topics follow a pattern where {n} is the device index (0..devices-1, round robin), e.g.
// "telemetry/dev-{n}". Messages are pushed in batches through a push function (typically
// RouteGraph::tryPushAny); a refused batch is retried after a short back-off (yield, then sleeps
// of up to 200 us), so a full pipeline slows the generator down instead of growing memory.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/clock.h"
#include "pipeline/message.h"

namespace mqb::sources::synthetic {

struct Options {
  double rate = 0;             ///< messages/s; 0 = as fast as possible
  std::uint64_t count = 0;     ///< stop after this many (0 = no limit)
  double durationSeconds = 0;  ///< stop after this long (0 = no limit)
  std::size_t payloadBytes = 64;
  std::string topicPattern = "telemetry/dev-{n}";
  std::size_t devices = 100;
  std::uint8_t qos = 1;
  std::size_t batchSize = 256;  ///< upper bound; paced runs use about 1 ms worth per batch
};

/// Pushes a batch; returns false (batch untouched) if the pipeline is full.
using PushFn = std::function<bool(pipeline::Batch&)>;

class SyntheticSource {
 public:
  SyntheticSource(Options options, PushFn push,
                  const pipeline::Clock* clock = &pipeline::SystemClock::instance());
  ~SyntheticSource();  ///< stops and joins
  SyntheticSource(const SyntheticSource&) = delete;
  SyntheticSource& operator=(const SyntheticSource&) = delete;

  void start();
  /// Asks the generator to stop after the current batch; join() waits for it.
  void stop() noexcept { stop_.store(true, std::memory_order_relaxed); }
  void join();
  bool done() const noexcept { return done_.load(std::memory_order_acquire); }

  /// Messages accepted by the pipeline so far.
  std::uint64_t produced() const noexcept { return produced_.load(std::memory_order_relaxed); }
  /// Push attempts refused (backpressure).
  std::uint64_t refused() const noexcept { return refused_.load(std::memory_order_relaxed); }

  /// Topic of message i (exposed for tests).
  const std::string& topicFor(std::uint64_t i) const noexcept {
    return topics_[i % topics_.size()];
  }

 private:
  void run();

  Options o_;
  PushFn push_;
  const pipeline::Clock* clock_;
  std::vector<std::string> topics_;
  std::string payload_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};
  std::atomic<std::uint64_t> produced_{0};
  std::atomic<std::uint64_t> refused_{0};
};

}  // namespace mqb::sources::synthetic
