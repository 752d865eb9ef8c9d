#include "app/commands/cli.h"

#include <iostream>

namespace mqb::app {

namespace po = boost::program_options;

void addConfigOptions(po::options_description& d, ConfigOptions& c, bool required) {
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

std::optional<int> parseCommandLine(const std::string& cmd, const Args& args,
                                    po::options_description& d,
                                    const po::positional_options_description* pos,
                                    po::variables_map& vm) {
  d.add_options()("help,h", "show this help");
  try {
    po::command_line_parser parser(args);
    parser.options(d);
    if (pos != nullptr) {
      parser.positional(*pos);
    }
    po::store(parser.run(), vm);
    if (vm.count("help") != 0) {
      std::cout << "usage: mqbridge " << cmd << " [options]\n\n" << d << '\n';
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

}  // namespace mqb::app
