// The test-support reader of the Prometheus text format: types, samples, label unescaping,
// special values, selectors, and the lines it refuses.
#include "tests/support/prometheus_text.h"

#include <gtest/gtest.h>

#include <cmath>

namespace mqb::test {
namespace {

constexpr const char* kText =
    "# HELP mqb_sent_total Messages sent.\n"
    "# TYPE mqb_sent_total counter\n"
    "mqb_sent_total{route=\"a\",reason=\"x\"} 3\n"
    "mqb_sent_total{route=\"b\", reason=\"x\",} 4.5 1700000000000\n"
    "mqb_sent_total_more{route=\"a\"} 100\n"
    "# TYPE mqb_up gauge\n"
    "mqb_up 1\n"
    "\n"
    "mqb_lat_bucket{le=\"+Inf\"} +Inf\n"
    "mqb_odd{v=\"q\\\"b\\\\s\\nn\"} NaN\n";

TEST(PrometheusText, ReadsTypesAndSamples) {
  const auto m = parsePrometheusText(kText);
  EXPECT_TRUE(m.errors.empty()) << ::testing::PrintToString(m.errors);
  EXPECT_EQ(m.types.at("mqb_sent_total"), "counter");
  EXPECT_EQ(m.types.at("mqb_up"), "gauge");
  ASSERT_EQ(m.samples.size(), 6u);
  EXPECT_EQ(m.samples[1].name, "mqb_sent_total");
  EXPECT_EQ(m.samples[1].labels.at("route"), "b");
  EXPECT_EQ(m.samples[1].value, 4.5);
  EXPECT_EQ(m.samples[3].labels.size(), 0u);
  EXPECT_TRUE(std::isinf(m.samples[4].value));
  EXPECT_EQ(m.samples[5].labels.at("v"), "q\"b\\s\nn");
  EXPECT_TRUE(std::isnan(m.samples[5].value));
}

TEST(PrometheusText, SumMatchesNameExactlyAndEverySelector) {
  const auto m = parsePrometheusText(kText);
  EXPECT_EQ(m.sum("mqb_sent_total"), 7.5);  // not mqb_sent_total_more
  EXPECT_EQ(m.sum("mqb_sent_total", {"route=\"a\""}), 3);
  EXPECT_EQ(m.sum("mqb_sent_total", {"route=\"b\"", "reason=\"x\""}), 4.5);
  EXPECT_EQ(m.sum("mqb_sent_total", {"route=\"a\"", "reason=\"y\""}), 0);
  EXPECT_EQ(m.sum("mqb_sent_total", {"route=\"\""}), 0);
  EXPECT_EQ(m.sum("mqb_sent_total", {"route=a"}), 0);  // not a selector
  EXPECT_EQ(m.sum("mqb_missing"), 0);
  EXPECT_EQ(m.count("mqb_sent_total"), 2u);
}

TEST(PrometheusText, ReportsMalformedLinesAndKeepsTheRest) {
  const auto m = parsePrometheusText(
      "ok 1\n"
      "{route=\"a\"} 1\n"
      "bad{route=a} 1\n"
      "bad{route=\"a} 1\n"
      "bad{route=\"a\"}1\n"
      "bad 1x\n"
      "bad 1 2 3\n"
      "ok 2\r\n");
  EXPECT_EQ(m.sum("ok"), 3);
  EXPECT_EQ(m.count("bad"), 0u);
  ASSERT_EQ(m.errors.size(), 6u) << ::testing::PrintToString(m.errors);
  EXPECT_EQ(m.errors[0], "line 2: bad metric name");
  EXPECT_EQ(m.errors[1], "line 3: label route is not quoted");
}

}  // namespace
}  // namespace mqb::test
