#include "stages/rate_limit/config.h"

#include "config/fields.h"

namespace mqb::stages::rate_limit {

Limits effectiveLimits(const config::ConnectorSpec* connector, const config::RouteSpec* route) {
  if (route != nullptr && route->rateLimit) {
    return Limits::from(*route->rateLimit);
  }
  if (connector != nullptr && connector->rateLimit) {
    return Limits::from(*connector->rateLimit);
  }
  return {};
}

namespace {

class Factory final : public pipeline::StageFactory {
 public:
  std::string_view type() const noexcept override { return "rate_limit"; }
  std::string_view description() const noexcept override {
    return "Token bucket per sink client (messages/s and bytes/s with bursts); delays messages "
           "over the rate, never drops them.";
  }
  pipeline::StageConfigPtr parse(const YAML::Node& params, const std::string& file,
                                 const std::string& path,
                                 config::Diagnostics& diag) const override {
    config::Fields f(params, file, path, diag);
    const std::size_t before = diag.errorCount();
    f.allow({"type"});
    auto cfg = std::make_shared<Config>();
    const auto mps = f.number("messagesPerSecond", false, 0);
    const auto bps = f.number("bytesPerSecond", false, 0);
    const auto bm = f.number("burstMessages", false, 0);
    const auto bb = f.number("burstBytes", false, 0);
    f.finish();
    const bool any = f.has("messagesPerSecond") || f.has("bytesPerSecond") ||
                     f.has("burstMessages") || f.has("burstBytes");
    if (any) {
      if (!f.has("messagesPerSecond") && !f.has("bytesPerSecond")) {
        f.error("", "set messagesPerSecond and/or bytesPerSecond");
      }
      if (f.has("burstMessages") && !f.has("messagesPerSecond")) {
        f.error("burstMessages", "needs messagesPerSecond");
      }
      if (f.has("burstBytes") && !f.has("bytesPerSecond")) {
        f.error("burstBytes", "needs bytesPerSecond");
      }
      Limits l;
      l.messagesPerSecond = mps.value_or(0);
      l.bytesPerSecond = bps.value_or(0);
      l.burstMessages = bm.value_or(0);
      l.burstBytes = bb.value_or(0);
      cfg->limits = l;
    }
    return diag.errorCount() == before ? cfg : nullptr;
  }
  pipeline::StagePtr create(const pipeline::StageConfigPtr& cfg,
                            const pipeline::StageContext& ctx) const override {
    const auto& c = static_cast<const Config&>(*cfg);
    const Limits l = c.limits ? *c.limits : effectiveLimits(ctx.connector, ctx.route);
    return std::make_unique<RateLimit>(l, ctx);
  }
};

}  // namespace

pipeline::StageFactoryPtr makeFactory() { return std::make_unique<Factory>(); }

}  // namespace mqb::stages::rate_limit
