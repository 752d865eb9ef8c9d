#include <iostream>

#include "app/commands.h"

namespace mqb::app {

int testCommand(const TestOptions& /*o*/) {
  std::cerr << "mqbridge test: not built yet\n";
  return 70;
}

}  // namespace mqb::app
