#include "pipeline/plugin_loader.h"

#include <gtest/gtest.h>

#include "pipeline/plugin.h"
#include "tests/unit/stages/stage_test_util.h"

namespace mqb::pipeline {
namespace {

/// This build's plugin ABI version, and the ones the bad_version and old_version test plugins
/// claim.
const std::string kThis = std::to_string(MQB_STAGE_PLUGIN_ABI_VERSION);
const std::string kNext = std::to_string(MQB_STAGE_PLUGIN_ABI_VERSION + 1);
const std::string kPrevious = std::to_string(MQB_STAGE_PLUGIN_ABI_VERSION - 1);

std::string plugin(const std::string& name) {
  return std::string(MQB_BINARY_DIR) + "/test_plugins/" + name + "_plugin.so";
}

TEST(PluginLoader, LoadsAPluginAndItsStageWorks) {
  Registry registry;
  std::string error;
  auto loaded = loadStagePlugin(plugin("good"), registry, error);
  ASSERT_TRUE(loaded) << error;
  EXPECT_EQ(loaded->types, std::vector<std::string>{"test_tag"});
  const StageFactory* f = registry.find("test_tag");
  ASSERT_NE(f, nullptr);
  config::Diagnostics diag;
  auto cfg = stages::testing::parse(*f, "type: test_tag\nvalue: hello\n", diag);
  ASSERT_TRUE(cfg) << diag.str();
  auto stage = f->create(cfg, StageContext{});
  stages::testing::Collect out;
  stage->process(stages::testing::message("t", "x"), out);
  ASSERT_EQ(out.out.size(), 1u);
  EXPECT_EQ(out.out[0].props.user, (std::vector<UserProperty>{{"tag", "hello"}}));
  // The plugin reports parameter errors through the host's config::Params view.
  config::Diagnostics bad;
  EXPECT_FALSE(stages::testing::parse(*f, "type: test_tag\nvalu: x\n", bad));
  EXPECT_EQ(bad.str(),
            "stages.yaml:1:1: error: spec.routes[0].stages[0].value: required field is missing "
            "(expected a string)\n"
            "stages.yaml:2:1: error: spec.routes[0].stages[0].valu: unknown field (did you mean "
            "\"value\"?)\n");
}

TEST(PluginLoader, RefusesAVersionMismatchNamingFileAndBothVersions) {
  Registry registry;
  std::string error;
  EXPECT_FALSE(loadStagePlugin(plugin("bad_version"), registry, error));
  EXPECT_EQ(error, "stage plugin \"" + plugin("bad_version") +
                       "\": built for stage plugin ABI version " + kNext +
                       ", this mqbridge supports version " + kThis +
                       "; rebuild the plugin against this mqbridge's installed headers");
  EXPECT_TRUE(registry.types().empty());
}

TEST(PluginLoader, RefusesAPluginBuiltForThePreviousAbi) {
  EXPECT_EQ(MQB_STAGE_PLUGIN_ABI_VERSION, 3);  // the stage API without yaml-cpp and prometheus
  Registry registry;
  std::string error;
  EXPECT_FALSE(loadStagePlugin(plugin("old_version"), registry, error));
  EXPECT_EQ(error, "stage plugin \"" + plugin("old_version") +
                       "\": built for stage plugin ABI version " + kPrevious +
                       ", this mqbridge supports version " + kThis +
                       "; rebuild the plugin against this mqbridge's installed headers");
  EXPECT_TRUE(registry.types().empty());
}

TEST(PluginLoader, RefusesALibraryWithoutTheEntryPoints) {
  Registry registry;
  std::string error;
  EXPECT_FALSE(loadStagePlugin(plugin("no_symbol"), registry, error));
  EXPECT_EQ(error, "stage plugin \"" + plugin("no_symbol") +
                       "\": not an mqbridge stage plugin: no symbol "
                       "mqbridge_stage_plugin_abi_version (define the entry points with "
                       "MQB_DEFINE_STAGE_PLUGIN)");
}

TEST(PluginLoader, ReportsAMissingFile) {
  Registry registry;
  std::string error;
  EXPECT_FALSE(loadStagePlugin("/nonexistent/libnothing.so", registry, error));
  EXPECT_EQ(error, "stage plugin \"/nonexistent/libnothing.so\": file not found");
}

TEST(PluginLoader, ReportsAFileThatIsNotASharedLibrary) {
  Registry registry;
  std::string error;
  const std::string path = std::string(MQB_SOURCE_DIR) + "/tests/plugins/CMakeLists.txt";
  EXPECT_FALSE(loadStagePlugin(path, registry, error));
  EXPECT_EQ(error.rfind("stage plugin \"" + path + "\": cannot load: ", 0), 0u) << error;
}

TEST(PluginLoader, RefusesATypeThatIsAlreadyRegisteredAndRegistersNothing) {
  Registry registry;
  std::string error;
  ASSERT_TRUE(loadStagePlugin(plugin("good"), registry, error)) << error;
  EXPECT_FALSE(loadStagePlugin(plugin("good"), registry, error));
  EXPECT_EQ(error, "stage plugin \"" + plugin("good") +
                       "\": registration failed: stage type \"test_tag\" is already registered");
  EXPECT_EQ(registry.types(), std::vector<std::string>{"test_tag"});
}

}  // namespace
}  // namespace mqb::pipeline
