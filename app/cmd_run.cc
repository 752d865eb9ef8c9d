#include <iostream>

#include "app/commands.h"

namespace mqb::app {

int runCommand(const RunOptions& /*o*/) {
  std::cerr << "mqbridge run: not built yet\n";
  return 70;
}

}  // namespace mqb::app
