#include "stages/rate_limit/config.h"

#include "config/rate_limit.h"

namespace mqb::stages::rate_limit {

std::string_view RateLimitFactory::description() const noexcept {
  return "Token bucket per sink client (messages/s and bytes/s with bursts); delays messages "
         "over the rate, never drops them.";
}

void RateLimitFactory::read(pipeline::StageParams& p, RateLimitConfig& config) const {
  if (config::hasRateLimitFields(p)) {
    config = config::readRateLimit(p);
  }
}

pipeline::StageFactoryPtr makeFactory() { return std::make_unique<RateLimitFactory>(); }

}  // namespace mqb::stages::rate_limit
