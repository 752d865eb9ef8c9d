#pragma once
// Where `mqbridge run` gets its configuration from, and whether it changed: the files and
// directories of -c (names, sizes and modification times), or the resources of the Kubernetes API
// (config/kube/source.h; a watch event raises SIGHUP).

#include <memory>
#include <optional>
#include <string>

#include "app/runtime/options.h"
#include "common/result.h"
#include "config/kube/source.h"
#include "config/model.h"

namespace mqb::app {

class ConfigSource {
 public:
  explicit ConfigSource(const RunOptions& o);
  ~ConfigSource();
  ConfigSource(const ConfigSource&) = delete;
  ConfigSource& operator=(const ConfigSource&) = delete;

  /// Kubernetes mode: lists both kinds and starts the watches (fails if the API server cannot
  /// be used). Files: nothing to start.
  common::Status start();
  /// Changes whenever the configuration may have changed.
  std::string stamp() const;
  /// The validated configuration, every diagnostic logged (and, for the first load, printed on
  /// stderr when it is invalid). Nullopt if it is invalid.
  std::optional<config::BridgeConfig> load(bool initial);

 private:
  RunOptions options_;
  std::unique_ptr<config::kube::Source> kube_;  ///< set in Kubernetes mode
};

}  // namespace mqb::app
