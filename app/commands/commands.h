#pragma once
// mqbridge subcommands. main.cc parses the command line into these options and dispatches;
// each command lives in its own file (cmd_<name>.cc).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mqb::app {

/// Options shared by the commands that load configuration.
struct ConfigOptions {
  std::vector<std::string> configPaths;                  ///< -c: files or directories, in any order
  std::string secretsDir = "/var/run/secrets/mqbridge";  ///< x509 / usernamePassword secrets
  std::string configmapsDir = "/var/run/configmaps";     ///< trusted CA ConfigMaps
  std::string saTokenFile = "/var/run/secrets/tokens/mq-sat";  ///< kubernetes: {} token
  std::string arcKeyDir = "/var/opt/azcmagent/tokens";  ///< Azure Arc challenge key directory
};

/// Where `mqbridge run --kube` finds the API server (defaults: the pod's service account).
struct KubeOptions {
  std::string apiServer;  ///< https://host:port; "" = from KUBERNETES_SERVICE_HOST/_PORT
  std::string tokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string caFile = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  std::string namespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
  std::string ns;  ///< overrides the namespace file (then MQBRIDGE_NAMESPACE)
};

struct RunOptions {
  ConfigOptions config;
  bool kube = false;  ///< --kube: resources from the API server instead of files
  KubeOptions kubeOptions;
  bool spawnInstances = false;  ///< --spawn-instances: run instances 0..N-1 as child processes
  std::string metricsAddress = "0.0.0.0:9400";
  std::string stateDir = "/var/lib/mqbridge";
  std::optional<int> instanceIndex;     ///< default: StatefulSet ordinal in the hostname, else 0
  std::optional<std::string> logLevel;  ///< overrides every connector's logLevel
  bool logJson = false;
  double drainSeconds = 10;
};

struct ValidateOptions {
  ConfigOptions config;
  bool checkFiles = false;  ///< also check referenced secret/configmap files exist and parse
  bool instances = false;   ///< print the route/client assignment per instance
};

struct LoadtestOptions {
  ConfigOptions config;
  std::string route;
  double rate = 0;  ///< messages/s, 0 = as fast as possible
  std::uint64_t count = 0;
  double durationSeconds = 0;
  std::size_t payloadBytes = 64;
  std::string sink = "null";  ///< null | route
  bool json = false;
};

struct TestOptions {
  std::vector<std::string> files;
  std::vector<std::string> stagePlugins;  ///< --stage-plugin: stage plugins to load first
  bool verbose = false;
};

/// `deadletter list|replay|delete`.
struct DeadLetterOptions {
  std::string action;    ///< list | replay | delete
  ConfigOptions config;  ///< replay: where the routes' targets are
  std::string stateDir = "/var/lib/mqbridge";
  std::string connector;  ///< filters; empty = all
  std::string route;
  std::string id;
  std::string topic;  ///< replay: publish on this topic instead of the recorded one
  bool all = false;   ///< delete: every record matching the filters
  bool json = false;  ///< list: one JSON object per line
  int timeoutSeconds = 10;
};

int runCommand(const RunOptions& o);
int validateCommand(const ValidateOptions& o);
int loadtestCommand(const LoadtestOptions& o);
int testCommand(const TestOptions& o);
int deadLetterCommand(const DeadLetterOptions& o);
/// Prints both CustomResourceDefinitions (generated from config/schema.h) on stdout, or, with
/// `outputDir`, writes <outputDir>/mqttbridgeconnectors.yaml and mqttbridgetopicmaps.yaml.
int crdsCommand(const std::string& outputDir = "");

}  // namespace mqb::app
