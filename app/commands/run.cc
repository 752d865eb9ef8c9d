#include <iostream>

#include "app/app_bridge.h"
#include "app/app_config.h"
#include "app/app_supervisor.h"
#include "app/commands.h"
#include "common/log.h"

namespace mqb::app {

int runCommand(const RunOptions& o) {
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

}  // namespace mqb::app
