#include <iostream>

#include "app/commands.h"

namespace mqb::app {

int validateCommand(const ValidateOptions& /*o*/) {
  std::cerr << "mqbridge validate: not built yet\n";
  return 70;
}

}  // namespace mqb::app
