#pragma once
// rate_limit: parameters and factory.
//
//   - type: rate_limit
//     messagesPerSecond: 100   # > 0; optional if bytesPerSecond is given
//     bytesPerSecond: 1000000  # > 0; optional
//     burstMessages: 10        # > 0; default one second's worth
//     burstBytes: 65536        # > 0; default one second's worth
//
// The parameters are read like a connector's or route's `rateLimit` (config/rate_limit.h). With no
// parameters it uses the route's rateLimit, else the connector's, else does nothing.
// Implicit on every route (the graph builder prepends it with no parameters).

#include <optional>

#include "pipeline/stage.h"
#include "stages/rate_limit/rate_limit.h"

namespace mqb::stages::rate_limit {

struct Config final : pipeline::StageConfig {
  std::optional<Limits> limits;  ///< nullopt = inherit from the route, then the connector
};

pipeline::StageFactoryPtr makeFactory();

}  // namespace mqb::stages::rate_limit
