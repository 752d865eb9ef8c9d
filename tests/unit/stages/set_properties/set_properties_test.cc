#include "stages/set_properties/set_properties.h"

#include <gtest/gtest.h>

#include "stages/set_properties/config.h"
#include "tests/unit/stages/stage_test_util.h"

namespace mqb::stages::set_properties {
namespace {

using pipeline::UserProperty;
using testing::Collect;
using testing::message;

const SetPropertiesFactory kFactory;

TEST(SetPropertiesStage, SetOverridesInPlaceAndAddAppends) {
  auto stage = testing::build(kFactory,
                              "type: set_properties\n"
                              "removeUserProperties: [debug]\n"
                              "userProperties:\n"
                              "  - {name: site, value: plant-a}\n"
                              "  - {name: via, value: edge-1, mode: add}\n"
                              "  - {name: new, value: v}\n"
                              "contentType: application/json\n"
                              "payloadFormat: utf8\n");
  auto m = message("t", "{}");
  m.props.user = {{"via", "sensor"}, {"site", "old"}, {"debug", "1"}, {"site", "older"}};
  Collect out;
  stage->process(std::move(m), out);
  ASSERT_EQ(out.out.size(), 1u);
  const auto& p = out.out[0].props;
  EXPECT_EQ(p.user, (std::vector<UserProperty>{
                        {"via", "sensor"}, {"site", "plant-a"}, {"via", "edge-1"}, {"new", "v"}}));
  EXPECT_EQ(p.contentType, "application/json");
  EXPECT_EQ(p.payloadFormat, 1);
}

TEST(SetPropertiesStage, MappingShorthandSetsEachName) {
  auto stage = testing::build(kFactory,
                              "type: set_properties\nuserProperties: {site: plant-a, line: '3'}\n");
  Collect out;
  stage->process(message("t", "x"), out);
  ASSERT_EQ(out.out.size(), 1u);
  EXPECT_EQ(out.out[0].props.user, (std::vector<UserProperty>{{"site", "plant-a"}, {"line", "3"}}));
  EXPECT_FALSE(out.out[0].props.contentType.has_value());
}

TEST(SetPropertiesStage, InvalidUtf8UnderUtf8FormatIsDroppedOrPassedUnchanged) {
  testing::TestMetrics m;
  auto drop = testing::build(
      kFactory, "type: set_properties\npayloadFormat: utf8\nuserProperties: {a: b}\n", &m);
  auto pass = testing::build(
      kFactory,
      "type: set_properties\npayloadFormat: utf8\nuserProperties: {a: b}\nonError: pass\n", &m);
  testing::Tracker t;
  Collect out;
  drop->process(message("t", "\xC3\x28", &t, 1), out);
  EXPECT_TRUE(out.out.empty());
  EXPECT_EQ(t.settled.at(1), pipeline::Outcome::Dropped);
  EXPECT_EQ(m.dropped(metrics::DropReason::StageError), 1);
  pass->process(message("t", "\xC3\x28", &t, 2), out);
  ASSERT_EQ(out.out.size(), 1u);
  EXPECT_TRUE(out.out[0].props.user.empty());
  EXPECT_FALSE(out.out[0].props.payloadFormat.has_value());
}

TEST(SetPropertiesStage, Utf8Validation) {
  EXPECT_TRUE(isUtf8(""));
  EXPECT_TRUE(isUtf8("plain ascii"));
  EXPECT_TRUE(isUtf8("\xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));  // été € 😀
  EXPECT_FALSE(isUtf8("\xC0\xAF"));                                        // overlong '/'
  EXPECT_FALSE(isUtf8("\xE0\x80\xAF"));                                    // overlong
  EXPECT_FALSE(isUtf8("\xED\xA0\x80"));                                    // surrogate
  EXPECT_FALSE(isUtf8("\xF4\x90\x80\x80"));                                // > U+10FFFF
  EXPECT_FALSE(isUtf8("\xE2\x82"));                                        // truncated
  EXPECT_FALSE(isUtf8("\xFF"));
}

}  // namespace
}  // namespace mqb::stages::set_properties
