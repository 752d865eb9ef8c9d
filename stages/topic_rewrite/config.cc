#include "stages/topic_rewrite/config.h"

#include "config/fields.h"

namespace mqb::stages::topic_rewrite {

namespace {

class Factory final : public pipeline::StageFactory {
 public:
  std::string_view type() const noexcept override { return "topic_rewrite"; }
  std::string_view description() const noexcept override {
    return "Sets the outgoing topic: a static target, the message's own topic, or a template "
           "over its levels ({1}, {2-3}, {2-#}, {#}).";
  }
  pipeline::StageConfigPtr parse(const YAML::Node& params, const std::string& file,
                                 const std::string& path,
                                 config::Diagnostics& diag) const override {
    config::Fields f(params, file, path, diag);
    const std::size_t before = diag.errorCount();
    f.allow({"type"});
    auto settings = std::make_shared<Settings>();
    if (auto target = f.str("target")) {
      settings->target =
          config::topic::compileTarget(*target, f.at("target"), f.pathOf("target"), diag);
    }
    f.finish();
    if (diag.errorCount() != before) {
      return nullptr;
    }
    auto cfg = std::make_shared<Config>();
    cfg->settings = std::move(settings);
    return cfg;
  }
  pipeline::StagePtr create(const pipeline::StageConfigPtr& cfg,
                            const pipeline::StageContext& ctx) const override {
    const auto& c = static_cast<const Config&>(*cfg);
    return std::make_unique<TopicRewrite>(c.settings, ctx);
  }
};

}  // namespace

pipeline::StageFactoryPtr makeFactory() { return std::make_unique<Factory>(); }

}  // namespace mqb::stages::topic_rewrite
