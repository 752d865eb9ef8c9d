#include "stages/json_map/config.h"

#include <gtest/gtest.h>

#include "tests/unit/stages/stage_test_util.h"

namespace mqb::stages::json_map {
namespace {

std::string errors(const std::string& yaml) {
  const JsonMapFactory f;
  config::Diagnostics diag;
  auto cfg = testing::parse(f, yaml, diag);
  EXPECT_EQ(cfg == nullptr, diag.hasErrors()) << diag.str();
  return diag.str();
}

TEST(JsonMapConfig, NeedsAnOperation) {
  EXPECT_EQ(errors("type: json_map\nonError: pass\n"),
            "stages.yaml:1:1: error: spec.routes[0].stages[0]: needs at least one of rename, "
            "drop, add\n");
}

TEST(JsonMapConfig, ReportsEveryProblemWithLocationAndPath) {
  EXPECT_EQ(errors("type: json_map\n"
                   "rename: {a: [b]}\n"
                   "drop: [ok, /bad~2]\n"
                   "add: x\n"
                   "onError: ignore\n"),
            "stages.yaml:2:13: error: spec.routes[0].stages[0].rename.a: expected a field path\n"
            "stages.yaml:3:12: error: spec.routes[0].stages[0].drop[1]: invalid JSON pointer "
            "escape in \"/bad~2\" (use ~0 for ~ and ~1 for /)\n"
            "stages.yaml:4:6: error: spec.routes[0].stages[0].add: expected a mapping, got a "
            "scalar\n"
            "stages.yaml:5:10: error: spec.routes[0].stages[0].onError: must be one of drop, "
            "pass, got \"ignore\"\n");
}

}  // namespace
}  // namespace mqb::stages::json_map
