#include <gtest/gtest.h>

#include <stdexcept>

#include "pipeline/registry.h"
#include "stages/filter/config.h"
#include "stages/json_map/config.h"
#include "stages/set_properties/config.h"

namespace mqb::stages {
namespace {

TEST(TransformStageRegistration, EachFunctionRegistersItsTypeOnce) {
  pipeline::Registry r;
  filter::registerFilterStage(r);
  set_properties::registerSetPropertiesStage(r);
  json_map::registerJsonMapStage(r);
  EXPECT_EQ(r.types(), (std::vector<std::string>{"filter", "json_map", "set_properties"}));
  for (const auto& t : r.types()) {
    ASSERT_NE(r.find(t), nullptr);
    EXPECT_EQ(r.find(t)->type(), t);
    EXPECT_FALSE(r.find(t)->description().empty());
  }
  EXPECT_THROW(filter::registerFilterStage(r), std::logic_error);
}

}  // namespace
}  // namespace mqb::stages
