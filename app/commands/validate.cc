// mqbridge validate: exit 0 and print the plan (warnings on stderr), or exit 1 and print every
// diagnostic on stderr.

#include <iostream>

#include "app/commands/cli.h"
#include "app/commands/command.h"
#include "app/runtime/config_load.h"
#include "config/plan.h"

namespace mqb::app {
namespace {

namespace po = boost::program_options;

struct ValidateOptions {
  ConfigOptions config;
  bool checkFiles = false;  ///< also check referenced secret/configmap files exist and parse
  bool instances = false;   ///< print the route/client assignment per instance
};

int validate(const ValidateOptions& o) {
  config::Diagnostics diag;
  const auto cfg = loadConfig(o.config, o.checkFiles, diag);
  diag.print(std::cerr);
  if (!cfg) {
    std::cerr << "mqbridge validate: " << diag.errorCount()
              << (diag.errorCount() == 1 ? " error\n" : " errors\n");
    return 1;
  }
  const config::Plan plan = config::Plan::build(*cfg);
  config::PrintOptions print;
  print.instances = o.instances;
  print.routeDetails = stageChain;
  plan.print(std::cout, print);
  std::cout.flush();
  return 0;
}

}  // namespace

int validateMain(const Args& args) {
  ValidateOptions o;
  po::options_description d("validate options");
  addConfigOptions(d, o.config);
  d.add_options()("check-files", po::bool_switch(&o.checkFiles),
                  "also check that referenced certificates, keys and CA files exist and parse")(
      "instances", po::bool_switch(&o.instances),
      "print which instance serves each route and client");
  po::variables_map vm;
  if (auto rc = parseCommandLine("validate", args, d, nullptr, vm)) {
    return *rc;
  }
  return validate(o);
}

}  // namespace mqb::app
