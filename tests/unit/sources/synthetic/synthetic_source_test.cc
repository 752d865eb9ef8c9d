#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "sources/synthetic/synthetic_source.h"
#include "tests/support/pipeline_fixtures.h"

namespace mqb::sources::synthetic {
namespace {

TEST(SyntheticSource, ProducesTheCountOverTheDevicePatternWithThePayloadSize) {
  Options o;
  o.count = 1000;
  o.devices = 4;
  o.payloadBytes = 64;
  o.batchSize = 64;
  o.topicPattern = "telemetry/dev-{n}/temp";
  std::mutex mu;
  std::vector<pipeline::Message> got;
  SyntheticSource src(o, [&](pipeline::Batch& b) {
    std::lock_guard<std::mutex> l(mu);
    for (auto& m : b) {
      got.push_back(std::move(m));
    }
    b.clear();
    return true;
  });
  src.start();
  src.join();
  EXPECT_TRUE(src.done());
  EXPECT_EQ(src.produced(), 1000u);
  ASSERT_EQ(got.size(), 1000u);
  std::set<std::string> topics;
  for (const auto& m : got) {
    topics.insert(m.topic);
    ASSERT_EQ(m.payload.size(), 64u);
    ASSERT_NE(m.received, pipeline::SteadyTime{});
  }
  EXPECT_EQ(topics, (std::set<std::string>{"telemetry/dev-0/temp", "telemetry/dev-1/temp",
                                           "telemetry/dev-2/temp", "telemetry/dev-3/temp"}));
}

TEST(SyntheticSource, RetriesRefusedBatchesWithoutLosingOrDuplicating) {
  Options o;
  o.count = 500;
  o.batchSize = 50;
  std::mutex mu;
  std::size_t calls = 0;
  std::size_t accepted = 0;
  SyntheticSource src(o, [&](pipeline::Batch& b) {
    std::lock_guard<std::mutex> l(mu);
    if (++calls % 3 != 0) {
      return false;  // backpressure: two refusals per accepted batch
    }
    accepted += b.size();
    b.clear();
    return true;
  });
  src.start();
  src.join();
  EXPECT_EQ(accepted, 500u);
  EXPECT_EQ(src.produced(), 500u);
  EXPECT_EQ(src.refused(), 20u);
}

TEST(SyntheticSource, StopEndsAnUnboundedRun) {
  Options o;  // no count, no duration
  std::atomic<std::size_t> seen{0};
  SyntheticSource src(o, [&](pipeline::Batch& b) {
    seen += b.size();
    b.clear();
    return true;
  });
  src.start();
  ASSERT_TRUE(mqb::testing::waitFor([&] { return seen.load() > 10000; }));
  src.stop();
  src.join();
  EXPECT_TRUE(src.done());
}

}  // namespace
}  // namespace mqb::sources::synthetic
