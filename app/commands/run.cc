// mqbridge run: bridges until SIGINT/SIGTERM (runtime/bridge.h), or supervises one child
// process per instance (runtime/supervisor.h).

#include <cstdlib>
#include <iostream>

#include "app/commands/cli.h"
#include "app/commands/command.h"
#include "app/runtime/bridge.h"
#include "app/runtime/config_load.h"
#include "app/runtime/supervisor.h"
#include "common/log.h"

namespace mqb::app {
namespace {

namespace po = boost::program_options;

int run(const RunOptions& o) {
  if (o.spawnInstances) {
    if (o.kube || o.config.configPaths.empty()) {
      std::cerr << "mqbridge run: --spawn-instances needs --config (in Kubernetes, each pod is "
                   "one instance)\n";
      return 2;
    }
    config::Diagnostics diag;
    const auto cfg = loadConfig(o.config, /*checkFiles=*/true, diag);
    if (!cfg) {
      diag.print(std::cerr);
      return 1;
    }
    SupervisorOptions s;
    for (const auto& c : cfg->connectors) {
      s.instances = std::max(s.instances, c.bridgeInstances);
    }
    log::setJson(o.logJson);
    return superviseInstances(o, s);
  }
  Bridge bridge(o);
  return bridge.run();
}

void addKubeOptions(po::options_description& d, RunOptions& o) {
  d.add_options()(
      "kube", po::bool_switch(&o.kube),
      "read MqttBridgeConnector/MqttBridgeTopicMap from the Kubernetes API (list + watch in "
      "the pod's namespace; changes apply without a restart) instead of files")(
      "kube-api-server", po::value(&o.kubeOptions.apiServer),
      "https://HOST:PORT (default: KUBERNETES_SERVICE_HOST/_PORT)")(
      "kube-token-file",
      po::value(&o.kubeOptions.tokenFile)->default_value(o.kubeOptions.tokenFile),
      "service account token for the API server")(
      "kube-ca-file", po::value(&o.kubeOptions.caFile)->default_value(o.kubeOptions.caFile),
      "CA bundle of the API server")(
      "kube-namespace-file",
      po::value(&o.kubeOptions.namespaceFile)->default_value(o.kubeOptions.namespaceFile),
      "the pod's namespace")(
      "kube-namespace", po::value(&o.kubeOptions.ns),
      "namespace to watch (default: --kube-namespace-file, then MQBRIDGE_NAMESPACE)")(
      "kube-connector", po::value(&o.kubeConnector),
      "serve only this MqttBridgeConnector and the topic maps that name it (default: all of the "
      "namespace; the operator sets it for each connector's pods)")(
      "kube-pod-name", po::value(&o.podName),
      "report broker connectivity as conditions of this Pod's status (default: "
      "MQBRIDGE_POD_NAME, set from the downward API; neither: not reported)");
}

}  // namespace

int runMain(const Args& args) {
  RunOptions o;
  po::options_description d("run options");
  addConfigOptions(d, o.config, /*required=*/false);
  std::string level;
  d.add_options()("metrics-address", po::value(&o.metricsAddress)->default_value(o.metricsAddress),
                  "HOST:PORT serving /metrics, /healthz and /readyz")(
      "state-dir", po::value(&o.stateDir)->default_value(o.stateDir),
      "directory for the routes' durable spools")(
      "instance-index", po::value<int>(),
      "this instance's index among bridgeInstances (default: StatefulSet ordinal, else 0)")(
      "log-level", po::value(&level), "debug | info | warn | error (overrides logLevel)")(
      "log-json", po::bool_switch(&o.logJson), "log JSON objects instead of key=value lines")(
      "drain-seconds", po::value(&o.drainSeconds)->default_value(o.drainSeconds),
      "on SIGTERM, how long to wait for in-flight messages")(
      "spawn-instances", po::bool_switch(&o.spawnInstances),
      "run instances 0..bridgeInstances-1 as supervised child processes on this host "
      "(restarted on crash; metrics port of instance i = port + i; state dir <dir>/<i>)");
  addKubeOptions(d, o);
  po::variables_map vm;
  if (auto rc = parseCommandLine("run", args, d, nullptr, vm)) {
    return *rc;
  }
  if (o.config.configPaths.empty() && !kubeModeWanted(o)) {
    std::cerr << "mqbridge run: give --config (files) or --kube (Kubernetes API)\n";
    return 2;
  }
  if (!o.config.configPaths.empty() && o.kube) {
    std::cerr << "mqbridge run: --config and --kube exclude each other\n";
    return 2;
  }
  if (const char* pod = std::getenv("MQBRIDGE_POD_NAME"); o.podName.empty() && pod != nullptr) {
    o.podName = pod;
  }
  if (vm.count("instance-index") != 0) {
    o.instanceIndex = vm["instance-index"].as<int>();
  }
  if (!level.empty()) {
    o.logLevel = level;
  }
  return run(o);
}

}  // namespace mqb::app
