#include "stages/rate_limit/config.h"

#include "config/fields.h"
#include "config/rate_limit.h"

namespace mqb::stages::rate_limit {

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
    if (config::hasRateLimitFields(f)) {
      cfg->limits = config::readRateLimit(f);
    }
    f.finish();
    return diag.errorCount() == before ? cfg : nullptr;
  }
  pipeline::StagePtr create(const pipeline::StageConfigPtr& cfg,
                            const pipeline::StageContext& ctx) const override {
    const auto& c = static_cast<const Config&>(*cfg);
    const Limits l = c.limits ? *c.limits : config::effectiveRateLimit(ctx.connector, ctx.route);
    return std::make_unique<RateLimit>(l, ctx);
  }
};

}  // namespace

pipeline::StageFactoryPtr makeFactory() { return std::make_unique<Factory>(); }

}  // namespace mqb::stages::rate_limit
