// Rate limits (config/rate_limit.h): the limits in force for a route, and one set of messages for
// a connector's, a route's and the rate_limit stage's fields.

#include "config/rate_limit.h"
#include "config/yaml_params.h"

#include <gtest/gtest.h>

#include "tests/unit/config/config_test_util.h"

namespace mqb::config {
namespace {

using namespace testing;

TEST(RateLimitSpec, TheRoutesLimitsElseTheConnectorsElseNone) {
  ConnectorSpec c;
  c.rateLimit = RateLimitSpec{100, 0, 0, 0};
  RouteSpec route;
  EXPECT_EQ(effectiveRateLimit(&c, &route).messagesPerSecond, 100);
  route.rateLimit = RateLimitSpec{5, 0, 0, 0};
  EXPECT_EQ(effectiveRateLimit(&c, &route).messagesPerSecond, 5);
  EXPECT_EQ(effectiveRateLimit(nullptr, &route).messagesPerSecond, 5);
  EXPECT_FALSE(effectiveRateLimit(&c, nullptr).burstMessages > 0);
  EXPECT_FALSE(effectiveRateLimit(nullptr, nullptr).enabled());
}

std::vector<std::string> messages(const Diagnostics& d) {
  std::vector<std::string> out;
  for (const auto& x : d.sorted()) {
    out.push_back(x.path + ": " + x.message);
  }
  return out;
}

TEST(RateLimitSpec, EveryPlaceReadsTheFieldsWithTheSameMessages) {
  const std::string yaml = "{burstMessages: 3, bytesPerSecond: -1}";
  YAML::Node m = baseTopicMap();
  setPath(m, "spec.routes[0].rateLimit", yaml);
  const LoadResult route = loadPair(baseConnector(), m);
  YAML::Node c = baseConnector();
  setPath(c, "spec.rateLimit", yaml);
  const LoadResult connector = loadPair(c, baseTopicMap());
  Diagnostics direct;
  YamlParams f(YAML::Load(yaml), "t.yaml", "spec.routes[0].rateLimit", direct);
  readRateLimit(f);
  f.finish();
  const std::vector<std::string> expected = {
      "spec.routes[0].rateLimit.burstMessages: only meaningful with messagesPerSecond",
      "spec.routes[0].rateLimit.bytesPerSecond: must be > 0, got -1",
  };
  EXPECT_EQ(messages(route.diagnostics), expected);
  EXPECT_EQ(messages(direct), expected);
  std::vector<std::string> onConnector = expected;
  for (auto& s : onConnector) {
    s.replace(0, std::string("spec.routes[0]").size(), "spec");
  }
  EXPECT_EQ(messages(connector.diagnostics), onConnector);
}

}  // namespace
}  // namespace mqb::config
