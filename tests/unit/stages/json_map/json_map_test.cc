#include "stages/json_map/json_map.h"

#include <gtest/gtest.h>

#include "stages/json_map/config.h"
#include "tests/unit/stages/stage_test_util.h"

namespace mqb::stages::json_map {
namespace {

using testing::Collect;
using testing::message;

const JsonMapFactory kFactory;

std::string run(pipeline::Stage& s, std::string payload) {
  Collect out;
  s.process(message("t", std::move(payload)), out);
  return out.out.empty() ? "<dropped>" : out.out[0].payload;
}

TEST(JsonMapStage, RenamesThenDropsThenAddsKeepingKeyOrder) {
  auto stage = testing::build(kFactory,
                              "type: json_map\n"
                              "rename: {t: temperature, meta.dev: device}\n"
                              "drop: [debug, /meta/raw]\n"
                              "add: {site: plant-a, meta.schema: 2, tags: [x], on: true}\n");
  EXPECT_EQ(run(*stage, R"({"z":1,"t":21.5,"debug":"x","meta":{"dev":"d1","raw":"AA"}})"),
            R"({"z":1,"meta":{"schema":2},"temperature":21.5,"device":"d1","site":"plant-a",)"
            R"("tags":["x"],"on":true})");
}

TEST(JsonMapStage, MissingFieldsAreNoOpsAndAddOverrides) {
  auto stage = testing::build(kFactory,
                              "type: json_map\nrename: {nope: x}\ndrop: [gone]\n"
                              "add: {site: \"7\"}\n");
  EXPECT_EQ(run(*stage, R"({"site":"old"})"), R"({"site":"7"})");
}

TEST(JsonMapStage, NonObjectPayloadsFailPerOnError) {
  testing::TestMetrics m;
  auto drop = testing::build(kFactory, "type: json_map\nadd: {a: 1}\n", &m);
  auto pass = testing::build(kFactory, "type: json_map\nadd: {a: 1}\nonError: pass\n", &m);
  testing::Tracker t;
  Collect out;
  drop->process(message("t", "{broken", &t, 1), out);
  drop->process(message("t", "[1,2]", &t, 2), out);
  EXPECT_TRUE(out.out.empty());
  EXPECT_EQ(t.settled.at(1), pipeline::Outcome::Dropped);
  EXPECT_EQ(t.settled.at(2), pipeline::Outcome::Dropped);
  EXPECT_EQ(m.dropped(metrics::DropReason::StageError), 2);
  EXPECT_EQ(run(*pass, "{broken"), "{broken");
  EXPECT_EQ(m.dropped(metrics::DropReason::StageError), 2);
}

TEST(JsonMapStage, PathThroughAScalarIsAnErrorAndLeavesThePayloadUnchanged) {
  auto stage = testing::build(kFactory, "type: json_map\nadd: {a.b: 1}\nonError: pass\n");
  EXPECT_EQ(run(*stage, R"({"a": 5})"), R"({"a": 5})");
  auto drop = testing::build(kFactory, "type: json_map\nadd: {a.b: 1}\n");
  EXPECT_EQ(run(*drop, R"({"a": 5})"), "<dropped>");
}

}  // namespace
}  // namespace mqb::stages::json_map
