#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

#include "pipeline/registry.h"
#include "stages/filter/config.h"
#include "stages/json_map/config.h"
#include "stages/set_properties/config.h"

namespace mqb::stages {
namespace {

TEST(TransformStageRegistration, EachFunctionRegistersItsTypeOnce) {
  pipeline::Registry r;
  r.add(filter::makeFactory());
  r.add(set_properties::makeFactory());
  r.add(json_map::makeFactory());
  EXPECT_EQ(r.types(), (std::vector<std::string>{"filter", "json_map", "set_properties"}));
  for (const auto& t : r.types()) {
    ASSERT_NE(r.find(t), nullptr);
    EXPECT_EQ(r.find(t)->type(), t);
    EXPECT_FALSE(r.find(t)->description().empty());
  }
  EXPECT_THROW(r.add(filter::makeFactory()), std::logic_error);
  const auto builtin = pipeline::Registry::builtin().types();
  for (const char* t :
       {"filter", "json_map", "set_properties", "qos", "rate_limit", "topic_rewrite"}) {
    EXPECT_NE(std::find(builtin.begin(), builtin.end(), t), builtin.end()) << t;
  }
}

}  // namespace
}  // namespace mqb::stages
