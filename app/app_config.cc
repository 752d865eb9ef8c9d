#include "app/app_config.h"

#include "config/loader.h"

namespace mqb::app {

std::optional<config::BridgeConfig> loadConfig(const ConfigOptions& o, bool checkFiles,
                                               config::Diagnostics& diag) {
  config::LoadOptions lo;
  lo.paths = o.configPaths;
  lo.secretsDir = o.secretsDir;
  lo.configmapsDir = o.configmapsDir;
  lo.saTokenFile = o.saTokenFile;
  lo.checkFiles = checkFiles;
  config::LoadResult r = config::load(lo);
  diag.append(r.diagnostics);
  return std::move(r.config);
}

}  // namespace mqb::app
