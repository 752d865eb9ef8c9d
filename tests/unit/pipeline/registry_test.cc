#include <gtest/gtest.h>

#include <stdexcept>

#include "config/diagnostics.h"
#include "pipeline/registry.h"
#include "stages/builtin.h"

namespace mqb::pipeline {
namespace {

class NamedFactory final : public StageFactory {
 public:
  explicit NamedFactory(std::string type) : type_(std::move(type)) {}
  std::string_view type() const noexcept override { return type_; }
  std::string_view description() const noexcept override { return "test"; }
  StageConfigPtr parse(StageParams&) const override { return std::make_shared<StageConfig>(); }
  StagePtr create(const StageConfigPtr&, const StageContext&) const override { return nullptr; }

 private:
  std::string type_;
};

config::RouteSpec routeWithStages(const std::string& yaml) {
  config::RouteSpec r;
  r.path = "spec.routes[0]";
  const YAML::Node stages = YAML::Load(yaml);
  for (std::size_t i = 0; i < stages.size(); ++i) {
    config::StageSpec s;
    s.params = stages[i];
    s.type = stages[i]["type"].as<std::string>();
    s.path = r.path + ".stages[" + std::to_string(i) + "]";
    s.where = config::Location{"routes.yaml", static_cast<int>(stages[i].Mark().line) + 1,
                               static_cast<int>(stages[i].Mark().column) + 1};
    r.stages.push_back(s);
  }
  return r;
}

TEST(Registry, FindsRegisteredTypesAndListsThemSorted) {
  Registry r;
  r.add(std::make_unique<NamedFactory>("zeta"));
  r.add(std::make_unique<NamedFactory>("alpha"));
  ASSERT_NE(r.find("zeta"), nullptr);
  EXPECT_EQ(r.find("zeta")->type(), "zeta");
  EXPECT_EQ(r.find("nope"), nullptr);
  EXPECT_EQ(r.types(), (std::vector<std::string>{"alpha", "zeta"}));
}

TEST(Registry, DuplicateRegistrationThrows) {
  Registry r;
  r.add(std::make_unique<NamedFactory>("json_map"));
  EXPECT_THROW(r.add(std::make_unique<NamedFactory>("json_map")), std::logic_error);
  EXPECT_THROW(r.add(nullptr), std::logic_error);
  Registry b;
  stages::registerBuiltinStages(b);
  EXPECT_THROW(stages::registerBuiltinStages(b), std::logic_error);
}

TEST(Registry, UnknownTypeIsReportedAtTheTypeWithTheKnownTypes) {
  Registry r;
  r.add(std::make_unique<NamedFactory>("filter"));
  r.add(std::make_unique<NamedFactory>("json_map"));
  const auto route = routeWithStages("- type: filter\n- {type: fitler, x: 1}\n- type: nope\n");
  config::Diagnostics diag;
  const auto out = r.parseStages(route.stages, diag);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_NE(out[0].factory, nullptr);
  EXPECT_EQ(out[1].factory, nullptr);
  EXPECT_EQ(out[2].factory, nullptr);
  EXPECT_EQ(diag.str(),
            "routes.yaml:2:10: error: spec.routes[0].stages[1].type: unknown stage type "
            "\"fitler\" (did you mean \"filter\"?); known types: filter, json_map\n"
            "routes.yaml:3:9: error: spec.routes[0].stages[2].type: unknown stage type "
            "\"nope\"; known types: filter, json_map\n");
}

TEST(Registry, BuiltinHasTheImplicitStages) {
  Registry& r = Registry::builtin();
  for (const char* t : {"topic_rewrite", "qos", "rate_limit"}) {
    ASSERT_NE(r.find(t), nullptr) << t;
    EXPECT_FALSE(r.find(t)->description().empty());
  }
  const std::string msg = r.unknownTypeMessage("qoss");
  EXPECT_NE(msg.find("(did you mean \"qos\"?)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("qos, rate_limit, "), std::string::npos) << msg;
}

TEST(Registry, StageParameterErrorsComeFromTheFactory) {
  const auto route = routeWithStages("- {type: qos, qos: 5}\n");
  config::Diagnostics diag;
  const auto out = Registry::builtin().parseStages(route.stages, diag);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].factory, nullptr);
  EXPECT_EQ(diag.str(),
            "routes.yaml:1:20: error: spec.routes[0].stages[0].qos: must be between 0 and 1, "
            "got 5\n");
}

}  // namespace
}  // namespace mqb::pipeline
