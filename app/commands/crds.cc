// mqbridge crds: prints the CustomResourceDefinitions generated from config/schema.cc, or writes
// them as deploy/kubernetes/crds/{mqttbridgeconnectors,mqttbridgetopicmaps}.yaml into a directory.

#include <fstream>
#include <iostream>

#include "app/commands.h"
#include "config/schema.h"

namespace mqb::app {

int crdsCommand(const std::string& outputDir) {
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

}  // namespace mqb::app
