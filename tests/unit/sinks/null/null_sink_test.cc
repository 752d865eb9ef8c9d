#include <gtest/gtest.h>

#include <chrono>

#include "sinks/null/latency_histogram.h"
#include "sinks/null/null_sink.h"
#include "tests/support/pipeline_fixtures.h"

namespace mqb::sinks::null {
namespace {

using namespace std::chrono_literals;

TEST(LatencyHistogram, QuantilesAreWithinTheBucketPrecision) {
  LatencyHistogram h;
  for (std::uint64_t v = 1; v <= 100000; ++v) {
    h.record(v * 1000);  // 1 us .. 100 ms, uniform
  }
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.max(), 100000u * 1000);
  EXPECT_NEAR(static_cast<double>(h.quantile(0.5)), 50e6, 50e6 * 0.016);
  EXPECT_NEAR(static_cast<double>(h.quantile(0.99)), 99e6, 99e6 * 0.016);
  EXPECT_EQ(h.quantile(1.0), h.max());
  EXPECT_EQ(LatencyHistogram().quantile(0.5), 0u);
}

TEST(LatencyHistogram, BucketEdgesAreMonotonicAndContainTheirValues) {
  for (std::uint64_t v : {0ull, 1ull, 63ull, 64ull, 65ull, 1000ull, 123456789ull, ~0ull >> 1}) {
    const std::size_t b = LatencyHistogram::bucketOf(v);
    EXPECT_LE(v, LatencyHistogram::upperEdge(b)) << v;
    if (b > 0) {
      EXPECT_GT(v, LatencyHistogram::upperEdge(b - 1)) << v;
    }
  }
}

TEST(NullSink, SettlesDeliveredRecordsLatencyAndReleases) {
  pipeline::ManualClock clock;
  NullSink sink(&clock);
  std::size_t released = 0;
  sink.setRelease([&released](std::size_t n) { released += n; });
  mqb::testing::CountingTracker tracker;
  pipeline::Batch batch;
  for (int i = 0; i < 3; ++i) {
    auto m = mqb::testing::makeMessage("t", "abcd");
    m.received = clock.now();
    m.completion = pipeline::Completion(&tracker, static_cast<std::uint64_t>(i));
    batch.push_back(std::move(m));
  }
  batch[2].notBefore = clock.now() + 50ms;  // rate-limited: counts as delivered then
  clock.advance(2ms);
  sink.write(std::move(batch));
  EXPECT_EQ(released, 3u);
  EXPECT_EQ(tracker.count(pipeline::Outcome::Delivered), 3u);
  EXPECT_EQ(sink.messages(), 3u);
  EXPECT_EQ(sink.bytes(), 12u);
  EXPECT_EQ(sink.delayed(), 1u);
  EXPECT_NEAR(static_cast<double>(sink.latency().quantile(0.5)), 2e6, 2e6 * 0.016);
  EXPECT_EQ(sink.latency().max(), 50'000'000u);
  EXPECT_EQ(sink.lastDelivery(), clock.now() + 48ms);
}

}  // namespace
}  // namespace mqb::sinks::null
