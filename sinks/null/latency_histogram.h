#pragma once
// Lock-free latency histogram: log-linear buckets (64 per power of two, < 1.6 % relative error),
// one writer, any number of concurrent readers.

#include <array>
#include <atomic>
#include <cstdint>

namespace mqb::sinks::null {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 6;
  static constexpr std::size_t kSub = std::size_t{1} << kSubBits;
  static constexpr std::size_t kBuckets = (64 - kSubBits + 1) * kSub;

  /// Records `n` samples of `ns` nanoseconds. Single writer (the sink node of one branch).
  void record(std::uint64_t ns, std::uint64_t n = 1) noexcept;

  /// Safe to call while the writer records (relaxed snapshot).
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  std::uint64_t max() const noexcept { return max_.load(std::memory_order_relaxed); }
  /// Value (ns) at quantile q in [0, 1]: the upper edge of the bucket holding it, capped at max.
  std::uint64_t quantile(double q) const noexcept;
  /// Adds another histogram's counts into this one (readers merging branches; single writer).
  void merge(const LatencyHistogram& other) noexcept;

  static std::size_t bucketOf(std::uint64_t ns) noexcept;
  static std::uint64_t upperEdge(std::size_t bucket) noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> max_{0};
};

}  // namespace mqb::sinks::null
