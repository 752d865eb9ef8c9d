#pragma once
// What the runtime is told: where the configuration is (files, or the Kubernetes API), and how
// `mqbridge run` runs. Filled by the commands from the command line.

#include <optional>
#include <string>
#include <vector>

#include "config/kube/source.h"
#include "config/loader.h"

namespace mqb::app {

/// Options shared by the commands that load configuration.
struct ConfigOptions {
  std::vector<std::string> configPaths;                  ///< -c: files or directories, in any order
  std::string secretsDir = "/var/run/secrets/mqbridge";  ///< x509 / usernamePassword secrets
  std::string configmapsDir = "/var/run/configmaps";     ///< trusted CA ConfigMaps
  std::string saTokenFile = "/var/run/secrets/tokens/mq-sat";  ///< kubernetes: {} token
  std::string arcKeyDir = "/var/opt/azcmagent/tokens";  ///< Azure Arc challenge key directory
};

/// The loader's options for these paths and directories.
config::LoadOptions loadOptionsOf(const ConfigOptions& o, bool checkFiles);

struct RunOptions {
  ConfigOptions config;
  bool kube = false;  ///< --kube: resources from the API server instead of files
  config::kube::Options kubeOptions;
  std::string kubeConnector;  ///< --kube-connector: only this connector and its topic maps
  std::string podName;        ///< --kube-pod-name: the Pod whose status gets the broker conditions
  bool spawnInstances = false;  ///< --spawn-instances: run instances 0..N-1 as child processes
  std::string metricsAddress = "0.0.0.0:9400";
  std::string stateDir = "/var/lib/mqbridge";
  std::optional<int> instanceIndex;     ///< default: StatefulSet ordinal in the hostname, else 0
  std::optional<std::string> logLevel;  ///< overrides every connector's logLevel
  bool logJson = false;
  double drainSeconds = 10;
};

/// True if `mqbridge run` should read its configuration from the API server: `--kube`, or no
/// `-c` and KUBERNETES_SERVICE_HOST is set (running in a pod).
bool kubeModeWanted(const RunOptions& o);

}  // namespace mqb::app
