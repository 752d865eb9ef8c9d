#include "sinks/null/null_sink.h"

#include <algorithm>

namespace mqb::sinks::null {

void NullSink::write(pipeline::Batch&& batch) noexcept {
  const pipeline::SteadyTime now = clock_->now();
  std::uint64_t bytes = 0;
  std::uint64_t delayed = 0;
  for (pipeline::Message& m : batch) {
    pipeline::SteadyTime at = now;
    if (m.notBefore > now) {
      at = m.notBefore;
      ++delayed;
    }
    const auto ns = std::chrono::duration_cast<pipeline::Nanos>(at - m.received).count();
    latency_.record(ns > 0 ? static_cast<std::uint64_t>(ns) : 0);
    bytes += m.payload.size();
    m.completion.settle(pipeline::Outcome::Delivered);
  }
  const std::size_t n = batch.size();
  batch.clear();
  messages_.fetch_add(n, std::memory_order_relaxed);
  bytes_.fetch_add(bytes, std::memory_order_relaxed);
  if (delayed != 0) {
    delayed_.fetch_add(delayed, std::memory_order_relaxed);
  }
  if (release_) {
    release_(n);
  }
}

}  // namespace mqb::sinks::null
