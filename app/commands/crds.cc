// mqbridge crds: prints the CustomResourceDefinitions generated from config/schema.cc, or writes
// them as deploy/kubernetes/crds/{mqttbridgeconnectors,mqttbridgetopicmaps}.yaml into a directory.

#include <fstream>
#include <iostream>

#include "app/commands/cli.h"
#include "app/commands/command.h"
#include "config/schema.h"

namespace mqb::app {
namespace {

int writeCrds(const std::string& outputDir) {
  namespace schema = config::schema;
  if (outputDir.empty()) {
    std::cout << schema::allCrdsYaml();
    return 0;
  }
  for (const schema::Resource* r : {&schema::connector(), &schema::topicMap()}) {
    const std::string path = outputDir + "/" + r->plural + ".yaml";
    std::ofstream out(path);
    out << schema::crdYaml(*r);
    if (!out) {
      std::cerr << "mqbridge crds: cannot write " << path << '\n';
      return 1;
    }
  }
  return 0;
}

}  // namespace

int crdsMain(const Args& args) {
  namespace po = boost::program_options;
  std::string outputDir;
  po::options_description d("crds options");
  d.add_options()(
      "output-dir", po::value(&outputDir),
      "write mqttbridgeconnectors.yaml and mqttbridgetopicmaps.yaml here instead of printing");
  po::variables_map vm;
  if (auto rc = parseCommandLine("crds", args, d, nullptr, vm)) {
    return *rc;
  }
  return writeCrds(outputDir);
}

}  // namespace mqb::app
