// A file with many independent mistakes: every one is reported, each with its line and column.

#include <gtest/gtest.h>

#include "config/loader.h"

namespace mqb::config {
namespace {

TEST(Mistakes, EveryMistakeIsReportedWithItsLine) {
  const std::string file = std::string(MQB_SOURCE_DIR) + "/tests/data/config/mistakes.yaml";
  LoadOptions o;
  o.paths = {file};
  const LoadResult r = load(o);
  ASSERT_FALSE(r.ok());
  std::vector<std::string> got;
  for (const auto& d : r.diagnostics.sorted()) {
    if (d.severity == Severity::Error) {
      EXPECT_EQ(d.where.file, file);
      got.push_back(std::to_string(d.where.line) + ":" + std::to_string(d.where.column) + " " +
                    d.path);
    }
  }
  const std::vector<std::string> expected = {
      "9:13 spec.protocol",
      "10:20 spec.bridgeInstances",
      "11:13 spec.logLevel",
      "13:15 spec.remoteBrokerConnection.endpoint",
      "15:19 spec.remoteBrokerConnection.tls.tlsEnabled",
      "34:12 spec.routes[0].qos",
      "35:15 spec.routes[0].source",
      "36:15 spec.routes[0].target",
      "37:7 spec.routes[1].name",
      "38:18 spec.routes[1].direction",
      "40:7 spec.routes[1].soruce",
      "42:34 spec.routes[1].sharedSubscription.groupMinimumShareNumber",
      "43:20 spec.routes[1].sharedSubscription.groupName",
      "50:27 spec.mqttBridgeConnectorRef",
  };
  EXPECT_EQ(got, expected) << r.diagnostics.str();
  EXPECT_EQ(r.diagnostics.errorCount(), expected.size());
  // The printed form is compiler-style.
  EXPECT_NE(r.diagnostics.str().find(file + ":34:12: error: spec.routes[0].qos: must be between 0 "
                                            "and 1, got 2"),
            std::string::npos)
      << r.diagnostics.str();
}

}  // namespace
}  // namespace mqb::config
