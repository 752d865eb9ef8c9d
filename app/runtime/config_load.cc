#include "app/runtime/config_load.h"

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>
#include <utility>

#include "config/loader.h"
#include "config/plan.h"
#include "config/topic_template.h"
#include "pipeline/plugin_loader.h"
#include "pipeline/registry.h"

namespace mqb::app {

void loadStagePlugins(const config::BridgeConfig& cfg, pipeline::Registry& registry,
                      config::Diagnostics& diag) {
  static std::mutex mutex;
  static std::set<std::pair<const pipeline::Registry*, std::string>> loaded;
  const std::lock_guard<std::mutex> lock(mutex);
  for (const auto& c : cfg.connectors) {
    for (const auto& p : c.stagePlugins) {
      std::error_code ec;
      std::filesystem::path canonical = std::filesystem::weakly_canonical(p.file, ec);
      const std::string key = ec ? p.file : canonical.string();
      if (loaded.count({&registry, key}) != 0) {
        continue;
      }
      std::string error;
      if (!pipeline::loadStagePlugin(p.file, registry, error)) {
        diag.error(p.where, p.path, error);
        continue;
      }
      loaded.insert({&registry, key});
    }
  }
}

void validateRouteStages(const config::BridgeConfig& cfg, config::Diagnostics& diag) {
  const pipeline::Registry& registry = pipeline::Registry::builtin();
  for (const auto& tm : cfg.topicMaps) {
    for (const auto& r : tm.routes) {
      if (r.target) {
        config::Location where = r.where;
        config::topic::compileTarget(*r.target, where, r.path + ".target", diag);
      }
      registry.parseStages(r.stages, diag);
    }
  }
}

config::LoadOptions loadOptionsOf(const ConfigOptions& o, bool checkFiles) {
  config::LoadOptions lo;
  lo.paths = o.configPaths;
  lo.secretsDir = o.secretsDir;
  lo.configmapsDir = o.configmapsDir;
  lo.saTokenFile = o.saTokenFile;
  lo.arcKeyDir = o.arcKeyDir;
  lo.checkFiles = checkFiles;
  return lo;
}

bool kubeModeWanted(const RunOptions& o) {
  if (o.kube) {
    return true;
  }
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  return o.config.configPaths.empty() && host != nullptr && *host != '\0';
}

std::optional<config::BridgeConfig> loadConfig(const ConfigOptions& o, bool checkFiles,
                                               config::Diagnostics& diag) {
  config::LoadResult r = config::load(loadOptionsOf(o, checkFiles));
  diag.append(r.diagnostics);
  if (!r.config) {
    return std::nullopt;
  }
  // Route targets (templates) and custom stages are validated by their stage factories, with the
  // same file:line:column diagnostics as the resources themselves.
  config::Diagnostics stageDiag;
  loadStagePlugins(*r.config, pipeline::Registry::builtin(), stageDiag);
  validateRouteStages(*r.config, stageDiag);
  diag.append(stageDiag);
  if (stageDiag.hasErrors()) {
    return std::nullopt;
  }
  return std::move(r.config);
}

std::vector<std::string> stageChain(const config::RouteSpec& r) {
  std::string chain = "stages:";
  const char* separator = " ";
  for (const auto& s : config::stageChain(nullptr, r)) {
    chain.append(separator).append(s.type);
    separator = " -> ";
  }
  return {chain};
}

}  // namespace mqb::app
