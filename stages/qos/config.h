#pragma once
// qos: parameters and factory.
//
//   - type: qos
//     qos: 0        # optional; omitted = the route's qos
//
// Implicit on every route (the graph builder prepends it).

#include <cstdint>
#include <optional>

#include "pipeline/stage.h"

namespace mqb::stages::qos {

struct Config final : pipeline::StageConfig {
  std::optional<std::uint8_t> qos;  ///< nullopt = the route's qos
};

pipeline::StageFactoryPtr makeFactory();

}  // namespace mqb::stages::qos
