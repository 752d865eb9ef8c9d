#include <gtest/gtest.h>

#include <vector>

#include "pipeline/message.h"

namespace mqb::pipeline {
namespace {

struct Recorder : DeliveryTracker {
  std::vector<std::pair<std::uint64_t, Outcome>> seen;
  void settle(std::uint64_t token, Outcome o) noexcept override { seen.emplace_back(token, o); }
};

TEST(Completion, SettlesOnceAndDefaultsToFilteredWhenDropped) {
  Recorder r;
  {
    Completion c(&r, 7);
    c.settle(Outcome::Delivered);
    c.settle(Outcome::Dropped);
  }
  { Completion unsettled(&r, 8); }
  ASSERT_EQ(r.seen.size(), 2u);
  EXPECT_EQ(r.seen[0], std::make_pair(std::uint64_t{7}, Outcome::Delivered));
  EXPECT_EQ(r.seen[1], std::make_pair(std::uint64_t{8}, Outcome::Filtered));
}

TEST(Completion, SharedHandlesReportOnceWithTheWorstOutcome) {
  Recorder r;
  Message m;
  m.completion = Completion(&r, 3);
  Message copy = m.fork();
  m.completion.settle(Outcome::Delivered);
  EXPECT_TRUE(r.seen.empty());
  copy.completion.settle(Outcome::Dropped);
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].second, Outcome::Dropped);
}

TEST(Completion, MoveTransfersTheObligation) {
  Recorder r;
  Completion a(&r, 1);
  Completion b(std::move(a));
  EXPECT_FALSE(static_cast<bool>(a));  // NOLINT(bugprone-use-after-move)
  b.settle(Outcome::Spooled);
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].second, Outcome::Spooled);
}

}  // namespace
}  // namespace mqb::pipeline
