// mqbridge validate: exit 0 and print the plan (warnings on stderr), or exit 1 and print every
// diagnostic on stderr.

#include <iostream>

#include "app/app_config.h"
#include "app/commands.h"
#include "config/plan.h"

namespace mqb::app {

int validateCommand(const ValidateOptions& o) {
  config::Diagnostics diag;
  const auto cfg = loadConfig(o.config, o.checkFiles, diag);
  diag.print(std::cerr);
  if (!cfg) {
    std::cerr << "mqbridge validate: " << diag.errorCount()
              << (diag.errorCount() == 1 ? " error\n" : " errors\n");
    return 1;
  }
  const config::Plan plan = config::Plan::build(*cfg);
  config::PrintOptions po;
  po.instances = o.instances;
  po.routeDetails = stageChain;
  plan.print(std::cout, po);
  std::cout.flush();
  return 0;
}

}  // namespace mqb::app
