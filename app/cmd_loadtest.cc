#include <iostream>

#include "app/commands.h"

namespace mqb::app {

int loadtestCommand(const LoadtestOptions& /*o*/) {
  std::cerr << "mqbridge loadtest: not built yet\n";
  return 70;
}

}  // namespace mqb::app
