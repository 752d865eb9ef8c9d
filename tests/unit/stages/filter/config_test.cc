#include "stages/filter/config.h"

#include <gtest/gtest.h>

#include "tests/unit/stages/stage_test_util.h"

namespace mqb::stages::filter {
namespace {

std::string errors(const std::string& yaml) {
  const FilterFactory f;
  config::Diagnostics diag;
  auto cfg = testing::parse(f, yaml, diag);
  EXPECT_EQ(cfg == nullptr, diag.hasErrors()) << diag.str();
  return diag.str();
}

TEST(FilterConfig, AcceptsEveryConditionTogether) {
  EXPECT_EQ(errors("type: filter\naction: drop\ntopic: a/+\nuserProperty: {name: s, value: v}\n"
                   "json: {field: /x, op: \"<=\", value: 2.5}\nonError: pass\n"),
            "");
}

TEST(FilterConfig, NeedsACondition) {
  EXPECT_EQ(errors("type: filter\naction: keep\n"),
            "stages.yaml:1:1: error: spec.routes[0].stages[0]: needs at least one condition: "
            "topic, userProperty or json\n");
}

TEST(FilterConfig, ReportsEveryProblemWithLocationAndPath) {
  EXPECT_EQ(
      errors("type: filter\n"
             "action: keeep\n"
             "topic: [a/#/b, ok/+]\n"
             "userProperty: {value: x}\n"
             "json: {field: a..b, op: \"~=\"}\n"
             "onErorr: pass\n"),
      "stages.yaml:2:9: error: spec.routes[0].stages[0].action: must be one of keep, drop, got "
      "\"keeep\" (did you mean \"keep\"?)\n"
      "stages.yaml:3:9: error: spec.routes[0].stages[0].topic[0]: '#' must be the last level, "
      "got \"a/#/b\"\n"
      "stages.yaml:4:15: error: spec.routes[0].stages[0].userProperty.name: required field is "
      "missing (expected a string)\n"
      "stages.yaml:5:15: error: spec.routes[0].stages[0].json.field: empty segment in field path "
      "\"a..b\" (write a.b.c, or a JSON pointer /a/b/c)\n"
      "stages.yaml:5:25: error: spec.routes[0].stages[0].json.op: must be one of ==, !=, <, <=, >, "
      ">=, exists, got \"~=\" (did you mean \"==\"?)\n"
      "stages.yaml:6:1: error: spec.routes[0].stages[0].onErorr: unknown field (did you mean "
      "\"onError\"?)\n");
}

TEST(FilterConfig, ValueRulesDependOnTheOperator) {
  EXPECT_EQ(errors("type: filter\njson: {field: a, op: exists, value: 1}\n"),
            "stages.yaml:2:37: error: spec.routes[0].stages[0].json.value: not allowed with op "
            "exists\n");
  EXPECT_EQ(errors("type: filter\njson: {field: a, op: \">\"}\n"),
            "stages.yaml:2:7: error: spec.routes[0].stages[0].json.value: required field is "
            "missing (expected the JSON value to compare with)\n");
  EXPECT_EQ(errors("type: filter\njson: {field: a, op: \">\", value: true}\n"),
            "stages.yaml:2:34: error: spec.routes[0].stages[0].json.value: op \">\" compares "
            "numbers or strings, got boolean\n");
}

}  // namespace
}  // namespace mqb::stages::filter
