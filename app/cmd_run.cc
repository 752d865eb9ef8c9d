#include "app/app_bridge.h"
#include "app/commands.h"

namespace mqb::app {

int runCommand(const RunOptions& o) {
  Bridge bridge(o);
  return bridge.run();
}

}  // namespace mqb::app
