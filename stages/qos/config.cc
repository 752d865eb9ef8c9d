#include "stages/qos/config.h"

#include "config/fields.h"
#include "stages/qos/qos.h"

namespace mqb::stages::qos {

namespace {

class Factory final : public pipeline::StageFactory {
 public:
  std::string_view type() const noexcept override { return "qos"; }
  std::string_view description() const noexcept override {
    return "Sets the outgoing QoS to the route's qos (or to `qos`).";
  }
  pipeline::StageConfigPtr parse(const YAML::Node& params, const std::string& file,
                                 const std::string& path,
                                 config::Diagnostics& diag) const override {
    config::Fields f(params, file, path, diag);
    const std::size_t before = diag.errorCount();
    f.allow({"type"});
    auto cfg = std::make_shared<Config>();
    if (auto q = f.integer("qos", false, 0, 1)) {
      cfg->qos = static_cast<std::uint8_t>(*q);
    }
    f.finish();
    return diag.errorCount() == before ? cfg : nullptr;
  }
  pipeline::StagePtr create(const pipeline::StageConfigPtr& cfg,
                            const pipeline::StageContext& ctx) const override {
    const auto& c = static_cast<const Config&>(*cfg);
    int q = c.qos ? *c.qos : (ctx.route != nullptr ? ctx.route->qos : 1);
    return std::make_unique<Qos>(static_cast<std::uint8_t>(q));
  }
};

}  // namespace

pipeline::StageFactoryPtr makeFactory() { return std::make_unique<Factory>(); }

}  // namespace mqb::stages::qos
