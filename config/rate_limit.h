#pragma once
// The rate limit extension: a token bucket per publishing client, in messages and/or bytes per
// second. One reader for every mapping that holds these fields (a connector's or a route's
// `rateLimit`, the rate_limit stage's parameters), so that a mistake reads the same everywhere:
//
//   topicmap.yaml:14:22: error: spec.routes[0].rateLimit.burstBytes: only meaningful with
//   bytesPerSecond

#include <optional>
#include <string_view>

#include "config/fields.h"
#include "config/model.h"
#include "config/params.h"

namespace mqb::config {

/// True if the mapping `f` reads has any of the rate limit fields.
bool hasRateLimitFields(const Params& f);

/// Reads messagesPerSecond, bytesPerSecond, burstMessages and burstBytes from the mapping `f`
/// reads: each a number > 0, at least one of the two rates, a burst only with its rate. Problems
/// go to `f`'s diagnostics. The four keys are marked known; the caller calls `f.finish()`.
RateLimitSpec readRateLimit(Params& f);

/// The optional mapping `key` of `parent` (a connector's or a route's `rateLimit`) read with
/// readRateLimit(Params&) and finished; nullopt when absent or not a mapping.
std::optional<RateLimitSpec> readRateLimit(Fields& parent, std::string_view key);

/// The limits in force for a route: the route's rateLimit, else its connector's, else none
/// (`enabled()` false). Either pointer may be null.
RateLimitSpec effectiveRateLimit(const ConnectorSpec* connector, const RouteSpec* route);

}  // namespace mqb::config
