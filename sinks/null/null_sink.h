#pragma once
// null sink: the end of a pipeline-only run (loadtest --sink null, benchmarks, tests). It settles
// every message Delivered as soon as it is written, records the latency received -> delivered,
// and releases the messages at once. It honours Message::notBefore in its accounting: a message
// stamped for later counts as delivered at that time (latency includes the rate-limit delay), and
// it is counted in delayed().

#include <atomic>
#include <cstdint>

#include "pipeline/clock.h"
#include "pipeline/sink.h"
#include "sinks/null/latency_histogram.h"

namespace mqb::sinks::null {

class NullSink final : public pipeline::Sink {
 public:
  explicit NullSink(const pipeline::Clock* clock = &pipeline::SystemClock::instance())
      : clock_(clock) {}

  void setRelease(pipeline::ReleaseFn release) override { release_ = std::move(release); }
  void write(pipeline::Batch&& batch) noexcept override;

  /// Readable from any thread while the sink runs.
  const LatencyHistogram& latency() const noexcept { return latency_; }
  std::uint64_t messages() const noexcept { return messages_.load(std::memory_order_relaxed); }
  std::uint64_t bytes() const noexcept { return bytes_.load(std::memory_order_relaxed); }
  std::uint64_t delayed() const noexcept { return delayed_.load(std::memory_order_relaxed); }

 private:
  const pipeline::Clock* clock_;
  pipeline::ReleaseFn release_;
  LatencyHistogram latency_;
  std::atomic<std::uint64_t> messages_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::uint64_t> delayed_{0};
};

}  // namespace mqb::sinks::null
