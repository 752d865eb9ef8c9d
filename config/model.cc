#include "config/model.h"

namespace mqb::config {

const ConnectorSpec* BridgeConfig::connector(const std::string& name) const {
  for (const auto& c : connectors) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

}  // namespace mqb::config
