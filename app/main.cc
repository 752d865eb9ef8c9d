// mqbridge: MQTT bridge connector. See `mqbridge --help`.

#include <boost/program_options.hpp>

#include <iostream>
#include <string>
#include <vector>

#include "app/app_kube.h"
#include "app/commands.h"
#include "app/version.h"

namespace po = boost::program_options;
using namespace mqb::app;

namespace {

constexpr const char* kUsage = R"(usage: mqbridge <command> [options]

Bridges MQTT brokers as configured by MqttBridgeConnector and MqttBridgeTopicMap resources
(mq.iotoperations.azure.com/v1beta1).

commands:
  run        load the configuration and bridge until SIGINT/SIGTERM
  validate   check the configuration and print the plan (exit 0) or every problem (exit 1)
  loadtest   drive one route's pipeline with synthetic messages and report throughput/latency
  test       run route behaviour files (routes plus `tests:`) without brokers
  deadletter list, replay or delete the messages routes set aside (list|replay|delete)
  version    print the version

`mqbridge <command> --help` lists the options of a command.
)";

void addConfigOptions(po::options_description& d, ConfigOptions& c, bool required = true) {
  auto* paths = po::value(&c.configPaths)->composing();
  if (required) {
    paths->required();
  }
  d.add_options()(
      "config,c", paths,
      required ? "configuration file or directory (YAML, multi-document allowed); repeatable"
               : "configuration file or directory (YAML, multi-document allowed); repeatable. "
                 "Without -c and --kube, in a pod (KUBERNETES_SERVICE_HOST set) the "
                 "resources come from the API server as with --kube")(
      "secrets-dir", po::value(&c.secretsDir)->default_value(c.secretsDir),
      "where Secrets are mounted: <dir>/<secretName>/client_cert.pem ...")(
      "configmaps-dir", po::value(&c.configmapsDir)->default_value(c.configmapsDir),
      "where ConfigMaps are mounted: <dir>/<configMapName>/*.pem|*.crt")(
      "sa-token-file", po::value(&c.saTokenFile)->default_value(c.saTokenFile),
      "service account token for `authentication: kubernetes: {}`")(
      "arc-key-dir", po::value(&c.arcKeyDir)->default_value(c.arcKeyDir),
      "systemAssignedManagedIdentity on Azure Arc: the only directory a token endpoint's "
      "challenge may name a key file in (a .key file of at most 4 KiB)");
}

/// Parses `args` into `vm`; returns an exit code if the command should stop (help or error).
std::optional<int> parse(const std::string& cmd, const std::vector<std::string>& args,
                         po::options_description& desc, po::positional_options_description* pos,
                         po::variables_map& vm) {
  desc.add_options()("help,h", "show this help");
  try {
    po::command_line_parser parser(args);
    parser.options(desc);
    if (pos != nullptr) {
      parser.positional(*pos);
    }
    po::store(parser.run(), vm);
    if (vm.count("help") != 0) {
      std::cout << "usage: mqbridge " << cmd << " [options]\n\n" << desc << '\n';
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "mqbridge " << cmd << ": " << e.what() << "\n(see `mqbridge " << cmd
              << " --help`)\n";
    return 2;
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string cmd = args.front();
  args.erase(args.begin());
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (cmd == "version" || cmd == "--version") {
    std::cout << "mqbridge " << kVersion << " (" << kGitRevision << ")\n";
    return 0;
  }
  po::variables_map vm;
  if (cmd == "run") {
    RunOptions o;
    po::options_description d("run options");
    addConfigOptions(d, o.config, /*required=*/false);
    std::string level;
    d.add_options()("metrics-address",
                    po::value(&o.metricsAddress)->default_value(o.metricsAddress),
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
        "(restarted on crash; metrics port of instance i = port + i; state dir <dir>/<i>)")(
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
        "namespace to watch (default: --kube-namespace-file, then MQBRIDGE_NAMESPACE)");
    if (auto rc = parse(cmd, args, d, nullptr, vm)) {
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
    if (vm.count("instance-index") != 0) {
      o.instanceIndex = vm["instance-index"].as<int>();
    }
    if (!level.empty()) {
      o.logLevel = level;
    }
    return runCommand(o);
  }
  if (cmd == "validate") {
    ValidateOptions o;
    po::options_description d("validate options");
    addConfigOptions(d, o.config);
    d.add_options()("check-files", po::bool_switch(&o.checkFiles),
                    "also check that referenced certificates, keys and CA files exist and parse")(
        "instances", po::bool_switch(&o.instances),
        "print which instance serves each route and client");
    if (auto rc = parse(cmd, args, d, nullptr, vm)) {
      return *rc;
    }
    return validateCommand(o);
  }
  if (cmd == "loadtest") {
    LoadtestOptions o;
    po::options_description d("loadtest options");
    addConfigOptions(d, o.config);
    d.add_options()("route", po::value(&o.route)->required(), "route name")(
        "rate", po::value(&o.rate)->default_value(0), "messages/s; 0 = as fast as possible")(
        "count", po::value(&o.count), "number of messages")(
        "duration", po::value(&o.durationSeconds), "seconds to run")(
        "payload-bytes", po::value(&o.payloadBytes)->default_value(64), "payload size")(
        "sink", po::value(&o.sink)->default_value("null"),
        "null (pipeline only) or route (the route's real sink)")(
        "json", po::bool_switch(&o.json), "print one JSON object with the figures");
    if (auto rc = parse(cmd, args, d, nullptr, vm)) {
      return *rc;
    }
    return loadtestCommand(o);
  }
  if (cmd == "test") {
    TestOptions o;
    po::options_description d("test options");
    d.add_options()("file", po::value(&o.files)->composing()->required(), "behaviour file(s)")(
        "stage-plugin", po::value(&o.stagePlugins)->composing(),
        "stage plugin (.so) to load before the files; repeatable")(
        "verbose,v", po::bool_switch(&o.verbose), "print every case");
    po::positional_options_description pos;
    pos.add("file", -1);
    if (auto rc = parse(cmd, args, d, &pos, vm)) {
      return *rc;
    }
    return testCommand(o);
  }
  if (cmd == "deadletter") {
    DeadLetterOptions o;
    po::options_description d("deadletter options");
    addConfigOptions(d, o.config, /*required=*/false);
    d.add_options()("action", po::value(&o.action)->required(), "list | replay | delete")(
        "state-dir", po::value(&o.stateDir)->default_value(o.stateDir), "the bridge's --state-dir")(
        "connector", po::value(&o.connector), "only this connector's routes")(
        "route", po::value(&o.route), "only this route")("id", po::value(&o.id),
                                                         "only this record")(
        "topic", po::value(&o.topic), "replay: publish on this topic instead of the recorded one")(
        "all", po::bool_switch(&o.all), "delete: every record the filters select")(
        "json", po::bool_switch(&o.json), "list: one JSON object per line")(
        "timeout", po::value(&o.timeoutSeconds)->default_value(o.timeoutSeconds),
        "replay: seconds to wait for the connection and for each acknowledgement");
    po::positional_options_description pos;
    pos.add("action", 1);
    if (auto rc = parse(cmd, args, d, &pos, vm)) {
      return *rc;
    }
    return deadLetterCommand(o);
  }
  if (cmd == "crds") {  // not in the usage text: a packaging helper
    std::string outputDir;
    po::options_description d("crds options");
    d.add_options()(
        "output-dir", po::value(&outputDir),
        "write mqttbridgeconnectors.yaml and mqttbridgetopicmaps.yaml here instead of printing");
    if (auto rc = parse(cmd, args, d, nullptr, vm)) {
      return *rc;
    }
    return crdsCommand(outputDir);
  }
  std::cerr << "mqbridge: unknown command '" << cmd << "'\n\n" << kUsage;
  return 2;
}
