// The YAML names of the model's enumerations (config/enums.h): each name reads back as its value
// and names are unique.

#include "config/enums.h"

#include <gtest/gtest.h>

#include <set>

namespace mqb::config {
namespace {

template <class E>
void roundTrips() {
  std::set<std::string> seen;
  for (const auto& n : enumNames(E{})) {
    EXPECT_TRUE(seen.insert(std::string(n.name)).second) << n.name;
    EXPECT_EQ(enumName(n.value), n.name);
    Diagnostics diag;
    Fields f(YAML::Load("{k: " + std::string(n.name) + "}"), "t.yaml", "p", diag);
    EXPECT_EQ(readEnum<E>(f, "k"), n.value);
    EXPECT_FALSE(diag.hasErrors()) << diag.str();
  }
}

TEST(EnumNames, EveryNameReadsBackAsItsValue) {
  roundTrips<MqttVersion>();
  roundTrips<Transport>();
  roundTrips<Direction>();
  roundTrips<LogLevel>();
  roundTrips<RetainPolicy>();
  roundTrips<SpoolSpec::Overflow>();
  roundTrips<SpoolSpec::Fsync>();
}

TEST(EnumNames, OtherValuesAreReportedWithTheNearestName) {
  Diagnostics diag;
  Fields f(YAML::Load("{direction: remote-to-locl}"), "t.yaml", "p", diag);
  EXPECT_FALSE(readEnum<Direction>(f, "direction").has_value());
  EXPECT_EQ(diag.str(),
            "t.yaml:1:13: error: p.direction: must be one of remote-to-local, local-to-remote, got "
            "\"remote-to-locl\" (did you mean \"remote-to-local\"?)\n");
}

}  // namespace
}  // namespace mqb::config
