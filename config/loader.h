#pragma once
// Loads MqttBridgeConnector and MqttBridgeTopicMap resources from YAML files and directories,
// validates them, applies defaults and resolves Kubernetes references to mounted files.
//
//   LoadOptions o;
//   o.paths = {"examples/config"};
//   LoadResult r = load(o);
//   if (!r.ok()) { r.diagnostics.print(std::cerr); return 1; }
//
// Every problem is reported (not only the first) as "file:line:col: error: path: message".
// Never throws for bad input (only std::bad_alloc escapes).

#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/diagnostics.h"
#include "config/env_refs.h"
#include "config/model.h"

namespace mqb::config {

struct LoadOptions {
  /// Files or directories in any order. A directory contributes its *.yaml and *.yml files,
  /// sorted by name, not recursively. Every file may hold several `---` documents.
  std::vector<std::string> paths;
  std::string secretsDir = "/var/run/secrets/mqbridge";  ///< <dir>/<secretName>/...
  std::string configmapsDir = "/var/run/configmaps";     ///< <dir>/<configMapName>/*.pem|*.crt
  std::string saTokenFile = "/var/run/secrets/tokens/mq-sat";  ///< kubernetes: {}
  /// systemAssignedManagedIdentity: where an Azure Arc token challenge's key file must be.
  std::string arcKeyDir = "/var/opt/azcmagent/tokens";
  /// Also check that referenced certificate, key, CA, username/password and token files exist
  /// and (for PEM) parse. `run` sets it; `validate` only with --check-files.
  bool checkFiles = false;
  /// Where ${env:NAME} references take their values (config/env_refs.h); empty: the process
  /// environment.
  Environment environment;
};

struct LoadResult {
  std::optional<BridgeConfig> config;  ///< set iff there is no error (warnings allowed)
  Diagnostics diagnostics;
  bool ok() const noexcept { return config.has_value(); }
};

/// Loads every path of `o` and validates the whole set. See LoadOptions.
LoadResult load(const LoadOptions& o);

/// Loads one YAML text as if read from `file` (tests, the Kubernetes API stand-in, stdin).
LoadResult loadText(const std::string& text, const std::string& file, const LoadOptions& o);

/// Incremental form of load(): add sources, then finish() once for the cross-resource checks
/// (connector references, unique route names, loops, file checks). Not thread-safe.
class Loader {
 public:
  explicit Loader(LoadOptions o);

  /// A file or a directory (see LoadOptions::paths). Errors go to the diagnostics.
  void addPath(const std::string& path);
  /// One YAML stream (possibly several documents) named `file` in diagnostics.
  void addText(const std::string& text, const std::string& file);
  /// One already-parsed resource (e.g. from the Kubernetes API as JSON). `file` may be "".
  void addResource(const YAML::Node& doc, const std::string& file);

  /// Cross-resource validation and reference resolution. Call once.
  LoadResult finish();

 private:
  void addFile(const std::string& path);

  LoadOptions opts_;
  Diagnostics diag_;
  BridgeConfig config_;
  bool sawInput_ = false;
};

/// The route name rule: non-empty, only [A-Za-z0-9_-] (it becomes part of a client ID).
/// "" if valid, else what is wrong.
std::string routeNameError(const std::string& name);

/// Parses "host:port" / "[v6]:port". Returns "" and fills host/port, or what is wrong.
std::string parseEndpoint(const std::string& endpoint, std::string& host, std::uint16_t& port);

/// The spec's default local broker connection: aio-mq-dmqtt-frontend:8883, TLS trusting the
/// ConfigMap aio-ca-trust-bundle-test-only, Kubernetes service account token authentication.
BrokerConnection defaultLocalBroker();

}  // namespace mqb::config
