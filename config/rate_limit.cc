#include "config/rate_limit.h"

#include "config/yaml_params.h"

namespace mqb::config {

namespace {

constexpr std::string_view kMessages = "messagesPerSecond";
constexpr std::string_view kBytes = "bytesPerSecond";
constexpr std::string_view kBurstMessages = "burstMessages";
constexpr std::string_view kBurstBytes = "burstBytes";

}  // namespace

bool hasRateLimitFields(const Params& f) {
  return f.has(kMessages) || f.has(kBytes) || f.has(kBurstMessages) || f.has(kBurstBytes);
}

RateLimitSpec readRateLimit(Params& f) {
  RateLimitSpec r;
  r.messagesPerSecond = f.number(kMessages, false, 0).value_or(0);
  r.bytesPerSecond = f.number(kBytes, false, 0).value_or(0);
  r.burstMessages = f.number(kBurstMessages, false, 0).value_or(0);
  r.burstBytes = f.number(kBurstBytes, false, 0).value_or(0);
  if (!f.ok()) {
    return r;
  }
  if (!f.has(kMessages) && !f.has(kBytes)) {
    f.error("", "needs messagesPerSecond or bytesPerSecond (or both)");
  }
  if (f.has(kBurstMessages) && !f.has(kMessages)) {
    f.error(kBurstMessages, "only meaningful with messagesPerSecond");
  }
  if (f.has(kBurstBytes) && !f.has(kBytes)) {
    f.error(kBurstBytes, "only meaningful with bytesPerSecond");
  }
  return r;
}

std::optional<RateLimitSpec> readRateLimit(Fields& parent, std::string_view key) {
  YAML::Node n = parent.mapping(key);
  if (!n.IsDefined()) {
    return std::nullopt;
  }
  YamlParams f(n, parent.file(), parent.pathOf(key), parent.diag());
  RateLimitSpec r = readRateLimit(f);
  f.finish();
  if (!f.ok()) {
    return std::nullopt;
  }
  return r;
}

RateLimitSpec effectiveRateLimit(const ConnectorSpec* connector, const RouteSpec* route) {
  if (route != nullptr && route->rateLimit) {
    return *route->rateLimit;
  }
  if (connector != nullptr && connector->rateLimit) {
    return *connector->rateLimit;
  }
  return {};
}

}  // namespace mqb::config
