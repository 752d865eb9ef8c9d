#include "stages/qos/config.h"

namespace mqb::stages::qos {

std::string_view QosFactory::description() const noexcept {
  return "Sets the outgoing QoS to the route's qos (or to `qos`).";
}

void QosFactory::read(pipeline::StageParams& p, QosConfig& config) const {
  if (auto q = p.integer("qos", false, 0, 1)) {
    config.qos = static_cast<std::uint8_t>(*q);
  }
}

pipeline::StageFactoryPtr makeFactory() { return std::make_unique<QosFactory>(); }

}  // namespace mqb::stages::qos
