#pragma once
// rate_limit: configuration (YAML parameters, validation) and registration. Logic: rate_limit.h.
//
//   - type: rate_limit
//     messagesPerSecond: 100   # > 0; optional if bytesPerSecond is given
//     bytesPerSecond: 1000000  # > 0; optional
//     burstMessages: 10        # > 0; default one second's worth
//     burstBytes: 65536        # > 0; default one second's worth
//
// The parameters are read like a connector's or route's `rateLimit` (config/rate_limit.h). With no
// parameters it does nothing. Every route runs one with the limits in force first (the route's
// rateLimit, else the connector's: config::stageChain); a route's own rate_limit stage written
// without parameters takes the same limits.

#include "pipeline/stage_factory.h"
#include "stages/rate_limit/rate_limit.h"

namespace mqb::stages::rate_limit {

class RateLimitFactory final : public pipeline::TypedStageFactory<RateLimitConfig, RateLimitStage> {
 public:
  std::string_view type() const noexcept override { return "rate_limit"; }
  std::string_view description() const noexcept override;

 protected:
  void read(pipeline::StageParams& p, RateLimitConfig& config) const override;
};

/// Registers the `rate_limit` stage type.
pipeline::StageFactoryPtr makeFactory();

}  // namespace mqb::stages::rate_limit
