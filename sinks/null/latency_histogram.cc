#include "sinks/null/latency_histogram.h"

#include <algorithm>
#include <bit>

namespace mqb::sinks::null {

std::size_t LatencyHistogram::bucketOf(std::uint64_t ns) noexcept {
  if (ns < kSub) {
    return static_cast<std::size_t>(ns);
  }
  const int e = 63 - std::countl_zero(ns);  // >= kSubBits
  const std::uint64_t mantissa = (ns >> (e - kSubBits)) & (kSub - 1);
  return static_cast<std::size_t>(e - kSubBits + 1) * kSub + static_cast<std::size_t>(mantissa);
}

std::uint64_t LatencyHistogram::upperEdge(std::size_t bucket) noexcept {
  if (bucket < kSub) {
    return bucket;
  }
  const int e = static_cast<int>(bucket / kSub) + kSubBits - 1;
  const std::uint64_t mantissa = bucket % kSub;
  const std::uint64_t lower = (std::uint64_t{1} << e) | (mantissa << (e - kSubBits));
  return lower + ((std::uint64_t{1} << (e - kSubBits)) - 1);
}

void LatencyHistogram::record(std::uint64_t ns, std::uint64_t n) noexcept {
  auto& b = buckets_[bucketOf(ns)];
  b.store(b.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  if (ns > max_.load(std::memory_order_relaxed)) {
    max_.store(ns, std::memory_order_relaxed);
  }
  count_.store(count_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

std::uint64_t LatencyHistogram::quantile(double q) const noexcept {
  std::uint64_t total = 0;
  for (const auto& b : buckets_) {
    total += b.load(std::memory_order_relaxed);
  }
  if (total == 0) {
    return 0;
  }
  q = std::clamp(q, 0.0, 1.0);
  const auto rank =
      std::max<std::uint64_t>(1, static_cast<std::uint64_t>(q * static_cast<double>(total) + 0.5));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i].load(std::memory_order_relaxed);
    if (seen >= rank) {
      return std::min(upperEdge(i), max());
    }
  }
  return max();
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
  for (std::size_t i = 0; i < kBuckets; ++i) {
    const std::uint64_t v = other.buckets_[i].load(std::memory_order_relaxed);
    if (v != 0) {
      buckets_[i].store(buckets_[i].load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
    }
  }
  count_.store(count_.load(std::memory_order_relaxed) + other.count(), std::memory_order_relaxed);
  max_.store(std::max(max(), other.max()), std::memory_order_relaxed);
}

}  // namespace mqb::sinks::null
