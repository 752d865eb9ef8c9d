// app/runtime/config_load: where `run` takes its configuration from (files or the Kubernetes
// API), and spec.stagePlugins (extension): plugins are loaded before route stages are validated,
// and a plugin that cannot be loaded is a config error at spec.stagePlugins[i] with
// file:line:column.

#include <gtest/gtest.h>
#include <stdlib.h>

#include "pipeline/plugin.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "app/runtime/config_load.h"
#include "app/runtime/options.h"
#include "config/loader.h"
#include "pipeline/registry.h"
#include "tests/unit/config/config_test_util.h"

namespace mqb::app {
namespace {

/// This build's plugin ABI version, and the one the bad_version test plugin claims.
const std::string kThis = std::to_string(MQB_STAGE_PLUGIN_ABI_VERSION);
const std::string kNext = std::to_string(MQB_STAGE_PLUGIN_ABI_VERSION + 1);

namespace fs = std::filesystem;

std::string plugin(const std::string& name) {
  return std::string(MQB_BINARY_DIR) + "/test_plugins/" + name + "_plugin.so";
}

class StagePlugins : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() /
        ("mqb_stage_plugins_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// Writes bridge.yaml (connector with `plugins` lines) and map.yaml (one route with `stages`).
  ConfigOptions write(const std::string& plugins, const std::string& stages) {
    std::ofstream(dir_ / "bridge.yaml") << config::testing::kBaseConnector << "  stagePlugins:\n"
                                        << plugins;
    std::ofstream(dir_ / "map.yaml") << config::testing::kBaseTopicMap << stages;
    ConfigOptions o;
    o.configPaths = {(dir_ / "bridge.yaml").string(), (dir_ / "map.yaml").string()};
    return o;
  }

  std::string file() const { return (dir_ / "bridge.yaml").string(); }

  fs::path dir_;
};

TEST_F(StagePlugins, EveryEntryIsLoadedInOrderAndEachFailureReportedAtItsLocation) {
  // Neither loads (nothing may reach the process-wide registry): both errors, in list order.
  config::Diagnostics diag;
  EXPECT_FALSE(loadConfig(write("    - " + plugin("bad_version") + "\n    - ./other.so\n", ""),
                          false, diag));
  const std::string s = diag.str();
  const auto first =
      s.find(file() + ":22:7: error: spec.stagePlugins[0]: stage plugin \"" +
             plugin("bad_version") + "\": built for stage plugin ABI version " + kNext);
  const auto second = s.find(file() +
                             ":23:7: error: spec.stagePlugins[1]: stage plugin "
                             "\"./other.so\": file not found");
  EXPECT_NE(first, std::string::npos) << s;
  EXPECT_NE(second, std::string::npos) << s;
  EXPECT_LT(first, second) << s;
}

TEST_F(StagePlugins, PluginStageIsKnownToTheRoute) {
  // Loaded into a private registry (the process-wide one must not change between tests).
  config::Diagnostics diag;
  ConfigOptions o = write("    - " + plugin("good") + "\n", "");
  config::LoadOptions lo;
  lo.paths = o.configPaths;
  config::LoadResult r = config::load(lo);
  ASSERT_TRUE(r.config) << r.diagnostics.str();
  ASSERT_EQ(r.config->connectors[0].stagePlugins.size(), 1u);
  EXPECT_EQ(r.config->connectors[0].stagePlugins[0].file, plugin("good"));
  EXPECT_EQ(r.config->connectors[0].stagePlugins[0].path, "spec.stagePlugins[0]");
  static pipeline::Registry registry;  // lives as long as the process, like the built-in one
  loadStagePlugins(*r.config, registry, diag);
  ASSERT_FALSE(diag.hasErrors()) << diag.str();
  EXPECT_NE(registry.find("test_tag"), nullptr);
  // Loading the same config again (e.g. a second command in one process) is not an error.
  loadStagePlugins(*r.config, registry, diag);
  EXPECT_FALSE(diag.hasErrors()) << diag.str();
}

TEST_F(StagePlugins, MissingFileIsAnErrorAtItsListEntry) {
  config::Diagnostics diag;
  const std::string missing = (dir_ / "nope.so").string();
  EXPECT_FALSE(loadConfig(write("    - " + missing + "\n", ""), false, diag));
  EXPECT_EQ(diag.str(), file() + ":22:7: error: spec.stagePlugins[0]: stage plugin \"" + missing +
                            "\": file not found\n");
}

TEST_F(StagePlugins, AbiMismatchIsAnErrorAtItsListEntry) {
  config::Diagnostics diag;
  EXPECT_FALSE(loadConfig(write("    - " + plugin("bad_version") + "\n", ""), false, diag));
  EXPECT_EQ(diag.str(), file() + ":22:7: error: spec.stagePlugins[0]: stage plugin \"" +
                            plugin("bad_version") + "\": built for stage plugin ABI version " +
                            kNext + ", this mqbridge supports version " + kThis +
                            "; rebuild the plugin against this mqbridge's installed "
                            "headers\n");
}

TEST_F(StagePlugins, NonStringEntryIsRefused) {
  config::Diagnostics diag;
  EXPECT_FALSE(loadConfig(write("    - {path: x.so}\n", ""), false, diag));
  EXPECT_NE(diag.str().find(file() + ":22:7: error: spec.stagePlugins[0]: expected the path of "
                                     "a stage plugin shared library (a non-empty string)"),
            std::string::npos)
      << diag.str();
}

TEST_F(StagePlugins, UnknownStageTypeStillReportedWhenPluginFailsToLoad) {
  config::Diagnostics diag;
  EXPECT_FALSE(loadConfig(write("    - " + (dir_ / "nope.so").string() + "\n",
                                "      stages:\n        - type: test_tag\n          value: x\n"),
                          false, diag));
  EXPECT_NE(diag.str().find("spec.stagePlugins[0]"), std::string::npos) << diag.str();
  EXPECT_NE(diag.str().find("test_tag"), std::string::npos) << diag.str();
}

// When `run` reads the Kubernetes API instead of files.
TEST(KubeMode, FlagOrPodWithoutConfig) {
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  RunOptions o;
  EXPECT_FALSE(kubeModeWanted(o));
  o.kube = true;
  EXPECT_TRUE(kubeModeWanted(o));
  o.kube = false;
  ::setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
  EXPECT_TRUE(kubeModeWanted(o));  // in a pod, no -c
  o.config.configPaths = {"/etc/mqbridge"};
  EXPECT_FALSE(kubeModeWanted(o));  // -c wins
  ::unsetenv("KUBERNETES_SERVICE_HOST");
}

}  // namespace
}  // namespace mqb::app
