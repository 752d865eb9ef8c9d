#include "config/fields.h"

#include <gtest/gtest.h>

namespace mqb::config {
namespace {

TEST(Fields, ReportsEveryProblemWithLineColumnAndPath) {
  const YAML::Node n = YAML::Load("qos: seven\nname: r1\nsoruce: a/b\nrate: -1\n");
  Diagnostics diag;
  Fields f(n, "routes.yaml", "spec.routes[0]", diag);
  EXPECT_FALSE(f.integer("qos", false, 0, 1).has_value());
  EXPECT_EQ(f.str("name", true), "r1");
  EXPECT_FALSE(f.str("source", true).has_value());
  EXPECT_FALSE(f.number("rate", false, 0).has_value());
  f.finish();
  EXPECT_EQ(diag.errorCount(), 4u);
  const std::string out = diag.str();
  EXPECT_NE(
      out.find("routes.yaml:1:6: error: spec.routes[0].qos: expected an integer, got \"seven\""),
      std::string::npos)
      << out;
  EXPECT_NE(out.find("routes.yaml:1:1: error: spec.routes[0].source: required field is missing"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("routes.yaml:3:1: error: spec.routes[0].soruce: unknown field (did you mean "
                     "\"source\"?)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("routes.yaml:4:7: error: spec.routes[0].rate: must be > 0, got -1"),
            std::string::npos)
      << out;
}

TEST(Fields, EnumerationSuggestsTheNearestValue) {
  const YAML::Node n = YAML::Load("direction: remote-to-locl\n");
  Diagnostics diag;
  Fields f(n, "f.yaml", "spec", diag);
  EXPECT_FALSE(f.enumeration("direction", {"remote-to-local", "local-to-remote"}).has_value());
  EXPECT_NE(diag.str().find("(did you mean \"remote-to-local\"?)"), std::string::npos)
      << diag.str();
}

TEST(Fields, IntegerRangeAndBoolean) {
  const YAML::Node n = YAML::Load("a: 3\nb: yes-please\nc: true\n");
  Diagnostics diag;
  Fields f(n, "f.yaml", "", diag);
  EXPECT_FALSE(f.integer("a", false, 0, 1).has_value());
  EXPECT_FALSE(f.boolean("b").has_value());
  EXPECT_EQ(f.boolean("c"), true);
  f.finish();
  EXPECT_EQ(diag.errorCount(), 2u);
  EXPECT_NE(diag.str().find("a: must be between 0 and 1, got 3"), std::string::npos);
}

}  // namespace
}  // namespace mqb::config
