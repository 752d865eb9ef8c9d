// mqbridge operator: keeps, per MqttBridgeConnector, the StatefulSet and Services that run its
// instances equal to the connector, and reports each connector's and topic map's status
// (operator/reconciler.h). Runs until SIGINT/SIGTERM.

#include <signal.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "app/commands/cli.h"
#include "app/commands/command.h"
#include "app/runtime/config_load.h"
#include "common/log.h"
#include "operator/reconciler.h"
#include "operator/render.h"

namespace mqb::app {
namespace {

namespace po = boost::program_options;

std::atomic<bool> gStop{false};

/// --render: the objects and statuses for the resources in `paths`, as a YAML stream (JSON
/// documents, which are YAML).
int renderFiles(const std::vector<std::string>& paths, const op::OperatorOptions& o) {
  std::vector<op::Json> resources;
  for (const auto& p : paths) {
    try {
      for (const auto& doc : YAML::LoadAllFromFile(p)) {
        resources.push_back(op::yamlToJson(doc));
      }
    } catch (const std::exception& e) {
      std::cerr << "mqbridge operator --render: " << p << ": " << e.what() << '\n';
      return 1;
    }
  }
  for (const auto& obj : op::render(resources, o.pods, o.validate, config::kube::isoNow())) {
    std::cout << "---\n" << obj.dump(2) << '\n';
  }
  return 0;
}

void onSignal(int) { gStop = true; }

void addOperatorOptions(po::options_description& d, op::OperatorOptions& o, std::string& level,
                        std::vector<std::string>& render) {
  d.add_options()(
      "render", po::value(&render)->multitoken(),
      "FILE...: print what the operator would write for the resources in these YAML files (the "
      "StatefulSet and Services of each connector, each resource with its status before any "
      "instance is ready) and exit; needs no API server")(
      "namespace", po::value(&o.namespaces)->composing(),
      "namespace whose connectors to run; repeatable (default: the operator pod's namespace)")(
      "bridge-service-account",
      po::value(&o.pods.serviceAccount)->default_value(o.pods.serviceAccount),
      "ServiceAccount of the bridge pods (must exist in each namespace; may list and watch the "
      "resources: deploy/operator/bridge-rbac.yaml)")(
      "drain-seconds", po::value(&o.pods.drainSeconds)->default_value(o.pods.drainSeconds),
      "--drain-seconds of the bridge pods (their grace period is this + 20 s)")(
      "spool-size", po::value(&o.pods.spoolSize)->default_value(o.pods.spoolSize),
      "storage request of each instance's spool PersistentVolumeClaim")(
      "arc-identity-endpoint", po::value(&o.pods.arcIdentityEndpoint),
      "the Azure Arc agent's token endpoint as pods reach it: pods of a connector with "
      "systemAssignedManagedIdentity get it as IDENTITY_ENDPOINT and --arc-key-dir as a "
      "read-only hostPath (default: none; such pods ask the Azure instance metadata endpoint)")(
      "arc-key-dir", po::value(&o.pods.arcKeyDir)->default_value(o.pods.arcKeyDir),
      "the Arc agent's challenge key directory on the nodes, mounted at the same path")(
      "kube-api-server", po::value(&o.api.apiServer),
      "https://HOST:PORT (default: KUBERNETES_SERVICE_HOST/_PORT)")(
      "kube-token-file", po::value(&o.api.tokenFile)->default_value(o.api.tokenFile),
      "service account token for the API server")(
      "kube-ca-file", po::value(&o.api.caFile)->default_value(o.api.caFile),
      "CA bundle of the API server")(
      "kube-namespace-file", po::value(&o.api.namespaceFile)->default_value(o.api.namespaceFile),
      "the operator pod's namespace (the default --namespace)")(
      "log-level", po::value(&level)->default_value("info"), "debug | info | warn | error")(
      "log-json", po::bool_switch(), "log JSON objects instead of key=value lines");
}

}  // namespace

int operatorMain(const Args& args) {
  op::OperatorOptions o;
  std::string level;
  std::vector<std::string> render;
  po::options_description d(
      "operator options (watches MqttBridgeConnector and MqttBridgeTopicMap; per connector it "
      "creates and keeps a StatefulSet of bridgeInstances pods running `mqbridge run --kube "
      "--kube-connector NAME`, a headless and a metrics Service, and writes .status)");
  addOperatorOptions(d, o, level, render);
  po::variables_map vm;
  if (auto rc = parseCommandLine("operator", args, d, nullptr, vm)) {
    return *rc;
  }
  log::Level parsed{};
  if (!log::parseLevel(level, parsed)) {
    std::cerr << "mqbridge operator: unknown --log-level " << level << '\n';
    return 2;
  }
  log::setLevel(parsed);
  log::setJson(vm["log-json"].as<bool>());
  o.validate = validateRouteStages;
  if (!render.empty()) {
    return renderFiles(render, o);
  }
  op::Operator operatorLoop(std::move(o));
  if (auto started = operatorLoop.start(); !started) {
    std::cerr << "mqbridge operator: " << started.error() << '\n';
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  operatorLoop.run(gStop);
  log::info("operator_stopped", {{"writes", operatorLoop.writes()}});
  return 0;
}

}  // namespace mqb::app
