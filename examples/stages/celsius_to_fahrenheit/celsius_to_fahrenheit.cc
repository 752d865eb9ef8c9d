#include <nlohmann/json.hpp>
#include "config/fields.h"
#include "pipeline/plugin.h"
using namespace mqb;  // celsius_to_fahrenheit: a JSON field °C -> °F, e.g. {field: temperature}
struct Config final : pipeline::StageConfig {
  std::string field;
};
class C2FStage final : public pipeline::Stage {
 public:
  C2FStage(std::string f, metrics::RouteMetrics* m) : field_(std::move(f)), metrics_(m) {}
  void process(pipeline::Message&& msg, pipeline::Emitter& out) noexcept override {
    try {
      auto doc = nlohmann::json::parse(msg.payload, nullptr, false);
      if (doc.is_object() && doc.contains(field_) && doc[field_].is_number()) {
        doc[field_] = doc[field_].get<double>() * 9 / 5 + 32;
        msg.payload = doc.dump();
        return out.emit(std::move(msg));
      }
    } catch (...) {  // process() must not throw
    }
    if (metrics_ != nullptr) metrics_->drop(metrics::DropReason::StageError);
    msg.completion.settle(pipeline::Outcome::Dropped);  // not forwarded: say why, count it
  }

 private:
  std::string field_;
  metrics::RouteMetrics* metrics_;
};
class Factory final : public pipeline::StageFactory {
 public:
  std::string_view type() const noexcept override { return "celsius_to_fahrenheit"; }
  std::string_view description() const noexcept override { return "Converts a JSON field °C->°F."; }
  pipeline::StageConfigPtr parse(const YAML::Node& params, const std::string& file,
                                 const std::string& path,
                                 config::Diagnostics& diag) const override {
    const auto errors = diag.errorCount();
    config::Fields f(params, file, path, diag);  // errors read file:line:col: error: path: ...
    f.allow({"type"});
    auto cfg = std::make_shared<Config>();
    cfg->field = f.str("field", true).value_or("");
    f.finish();
    return diag.errorCount() > errors ? nullptr : cfg;
  }
  pipeline::StagePtr create(const pipeline::StageConfigPtr& cfg,
                            const pipeline::StageContext& ctx) const override {
    return std::make_unique<C2FStage>(static_cast<const Config&>(*cfg).field, ctx.metrics);
  }
};
MQB_DEFINE_STAGE_PLUGIN(Factory)
