#pragma once
// Configuration loading shared by the commands and the runtime: the resources, the stage plugins
// they name, and the checks the stage factories make.

#include <optional>
#include <string>
#include <vector>

#include "app/runtime/options.h"
#include "config/diagnostics.h"
#include "config/model.h"

namespace mqb::pipeline {
class Registry;
}

namespace mqb::app {

/// Loads and validates the resources named by `o` (files and directories, see
/// config::LoadOptions). `checkFiles`: also require referenced certificates, keys, CA files,
/// username/password files and the service account token to exist and parse (`run` sets it).
/// Returns the configuration if there is no error; every diagnostic (warnings too) is appended
/// to `diag` either way. Never throws for bad input.
std::optional<config::BridgeConfig> loadConfig(const ConfigOptions& o, bool checkFiles,
                                               config::Diagnostics& diag);

/// Loads every connector's `spec.stagePlugins` into `registry`, in order. A plugin file already
/// loaded into `registry` by this process (same canonical path) is skipped, so loading a config
/// twice or listing a path in two connectors is fine. Failures (missing file, not a plugin, ABI
/// mismatch, duplicate stage type) are errors at spec.stagePlugins[i]. Not thread-safe with other
/// uses of `registry`, which must live until the process exits (Registry::builtin(); plugins are
/// never unloaded, and what was loaded is remembered by the registry's address).
void loadStagePlugins(const config::BridgeConfig& cfg, pipeline::Registry& registry,
                      config::Diagnostics& diag);

/// Validates every route's target template and custom stages with their stage factories.
void validateRouteStages(const config::BridgeConfig& cfg, config::Diagnostics& diag);

/// The route's full stage chain, for `mqbridge validate`: one line.
std::vector<std::string> stageChain(const config::RouteSpec& r);

}  // namespace mqb::app
