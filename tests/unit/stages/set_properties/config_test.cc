#include "stages/set_properties/config.h"

#include <gtest/gtest.h>

#include "tests/unit/stages/stage_test_util.h"

namespace mqb::stages::set_properties {
namespace {

std::string errors(const std::string& yaml) {
  const SetPropertiesFactory f;
  config::Diagnostics diag;
  auto cfg = testing::parse(f, yaml, diag);
  EXPECT_EQ(cfg == nullptr, diag.hasErrors()) << diag.str();
  return diag.str();
}

TEST(SetPropertiesConfig, NeedsSomethingToDo) {
  EXPECT_EQ(errors("type: set_properties\n"),
            "stages.yaml:1:1: error: spec.routes[0].stages[0]: needs at least one of "
            "userProperties, removeUserProperties, contentType, payloadFormat\n");
}

TEST(SetPropertiesConfig, ReportsEveryProblemWithLocationAndPath) {
  EXPECT_EQ(errors("type: set_properties\n"
                   "userProperties:\n"
                   "  - {name: site}\n"
                   "  - {name: a, value: b, mode: append}\n"
                   "  - {name: '', value: c}\n"
                   "payloadFormat: text\n"),
            "stages.yaml:3:5: error: spec.routes[0].stages[0].userProperties[0].value: required "
            "field is missing (expected a string)\n"
            "stages.yaml:4:31: error: spec.routes[0].stages[0].userProperties[1].mode: must be "
            "one of set, add, got \"append\"\n"
            "stages.yaml:5:12: error: spec.routes[0].stages[0].userProperties[2].name: a property "
            "name must not be empty\n"
            "stages.yaml:6:16: error: spec.routes[0].stages[0].payloadFormat: must be one of "
            "bytes, utf8, got \"text\"\n");
}

TEST(SetPropertiesConfig, MappingValuesMustBeScalars) {
  EXPECT_EQ(errors("type: set_properties\nuserProperties: {site: [a, b]}\n"),
            "stages.yaml:2:24: error: spec.routes[0].stages[0].userProperties.site: expected a "
            "string value\n");
}

}  // namespace
}  // namespace mqb::stages::set_properties
