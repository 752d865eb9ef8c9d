#pragma once
// Loads out-of-tree stage plugins (pipeline/plugin.h) into a Registry.
//
// Proposed configuration (extension, read by the config loader): the MqttBridgeConnector field
//   spec.stagePlugins: [/usr/lib/mqbridge/stages/libcelsius_to_fahrenheit.so, ...]
// loaded before any route's stages are parsed; `mqbridge test --stage-plugin PATH` does the same
// for behaviour files.

#include <optional>
#include <string>
#include <vector>

#include "pipeline/registry.h"

namespace mqb::pipeline {

struct LoadedPlugin {
  std::string path;
  std::vector<std::string> types;  ///< stage types it registered, in registration order
};

/// Loads the plugin at `path` (a file path; a bare name is taken relative to the working
/// directory, never searched for), checks its ABI version and registers its factories into
/// `registry`, all or none. On failure returns std::nullopt and sets `error` to one line that
/// starts with `stage plugin "<path>": ` and says what is wrong. Not thread-safe with other uses
/// of `registry`. A loaded plugin stays loaded until the process exits.
std::optional<LoadedPlugin> loadStagePlugin(const std::string& path, Registry& registry,
                                            std::string& error);

}  // namespace mqb::pipeline
