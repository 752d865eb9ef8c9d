// The spool extension: route and connector `spool` mappings, and the settings a route's spool runs
// with (the route's fields over the connector's over the defaults).

#include <gtest/gtest.h>

#include "config/spool.h"
#include "tests/unit/config/config_test_util.h"

namespace mqb::config {
namespace {

using namespace testing;

TEST(SpoolConfig, RouteAndConnectorFieldsAreRead) {
  YAML::Node c = baseConnector();
  setPath(c, "spec.spool", "{maxBytes: 1000000, fsync: always}");
  YAML::Node m = baseTopicMap();
  setPath(m, "spec.routes[0].spool",
          "{maxMessages: 500, overflow: drop_oldest, fsync: interval, fsyncIntervalMs: 20}");
  const LoadResult r = loadPair(c, m);
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  const ConnectorSpec& cs = r.config->connectors.at(0);
  ASSERT_TRUE(cs.spool);
  EXPECT_EQ(cs.spool->maxBytes, 1000000u);
  EXPECT_EQ(cs.spool->fsync, SpoolSpec::Fsync::Always);
  EXPECT_FALSE(cs.spool->overflow);
  const RouteSpec& rs = r.config->topicMaps.at(0).routes.at(0);
  ASSERT_TRUE(rs.spool);
  EXPECT_EQ(rs.spool->maxMessages, 500u);
  EXPECT_FALSE(rs.spool->maxBytes);  // taken from the connector at run time
  EXPECT_EQ(rs.spool->overflow, SpoolSpec::Overflow::DropOldest);
  EXPECT_EQ(rs.spool->fsyncIntervalMs, 20);
}

TEST(SpoolConfig, MistakesNameTheField) {
  YAML::Node m = baseTopicMap();
  setPath(m, "spec.routes[0].spool", "{overflow: sideways, fsync: never, fsyncIntervalMs: 5}");
  const LoadResult r = loadPair(baseConnector(), m);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(hasError(r, "spec.routes[0].spool.overflow")) << r.diagnostics.str();
  EXPECT_TRUE(hasError(r, "spec.routes[0].spool.fsyncIntervalMs", "only meaningful"))
      << r.diagnostics.str();
  YAML::Node m2 = baseTopicMap();
  setPath(m2, "spec.routes[0].spool", "{maxBytes: -1, colour: red}");
  const LoadResult r2 = loadPair(baseConnector(), m2);
  EXPECT_TRUE(hasError(r2, "spec.routes[0].spool.maxBytes")) << r2.diagnostics.str();
  EXPECT_TRUE(hasError(r2, "spec.routes[0].spool.colour", "unknown field")) << r2.diagnostics.str();
}

TEST(SpoolConfig, EffectiveSettingsTakeTheRouteThenTheConnectorThenTheDefaults) {
  YAML::Node c = baseConnector();
  setPath(c, "spec.spool", "{maxBytes: 1000000, fsync: always, overflow: drop_newest}");
  YAML::Node m = baseTopicMap();
  setPath(m, "spec.routes[0].spool", "{maxMessages: 500, overflow: drop_oldest}");
  const LoadResult r = loadPair(c, m);
  ASSERT_TRUE(r.ok()) << r.diagnostics.str();
  const ConnectorSpec& cs = r.config->connectors.at(0);
  RouteSpec rs = r.config->topicMaps.at(0).routes.at(0);
  SpoolSettings s = effectiveSpool(cs, rs);
  EXPECT_EQ(s.maxBytes, 1000000u);                         // the connector's
  EXPECT_EQ(s.maxMessages, 500u);                          // the route's
  EXPECT_EQ(s.overflow, SpoolSpec::Overflow::DropOldest);  // the route's over the connector's
  EXPECT_EQ(s.fsync, SpoolSpec::Fsync::Always);
  EXPECT_EQ(s.fsyncIntervalMs, SpoolSettings{}.fsyncIntervalMs);  // the default
  rs.spool.reset();
  s = effectiveSpool(cs, rs);
  EXPECT_EQ(s.maxMessages, 0u);
  EXPECT_EQ(s.overflow, SpoolSpec::Overflow::DropNewest);
  const SpoolSettings d = effectiveSpool(ConnectorSpec{}, RouteSpec{});
  EXPECT_EQ(d.maxBytes, std::uint64_t{1} << 30);
  EXPECT_EQ(d.maxMessages, 0u);
  EXPECT_EQ(d.overflow, SpoolSpec::Overflow::Block);
  EXPECT_EQ(d.fsync, SpoolSpec::Fsync::Interval);
  EXPECT_EQ(d.fsyncIntervalMs, 100);
}

}  // namespace
}  // namespace mqb::config
