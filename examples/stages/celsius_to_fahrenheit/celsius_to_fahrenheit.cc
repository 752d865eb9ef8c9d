#include <nlohmann/json.hpp>
#include "pipeline/plugin.h"
using namespace mqb;  // celsius_to_fahrenheit: a JSON field °C -> °F, e.g. {field: temperature}
struct C2FConfig {
  std::string field;
};
class C2FStage final : public pipeline::Stage {
 public:
  C2FStage(std::shared_ptr<const C2FConfig> c, const pipeline::StageContext& ctx)
      : field_(c->field), counters_(ctx.counters) {}
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
    if (counters_ != nullptr) counters_->drop(metrics::DropReason::StageError);
    msg.completion.settle(pipeline::Outcome::Dropped);  // not forwarded: say why, count it
  }

 private:
  std::string field_;
  pipeline::StageCounters* counters_;
};
class C2FFactory final : public pipeline::TypedStageFactory<C2FConfig, C2FStage> {
 public:
  std::string_view type() const noexcept override { return "celsius_to_fahrenheit"; }
  std::string_view description() const noexcept override { return "Converts a JSON field °C->°F."; }

 protected:  // errors read file:line:col: error: path: ...; unknown keys are reported for you
  void read(pipeline::StageParams& p, C2FConfig& c) const override {
    c.field = p.str("field", true).value_or("");
  }
};
MQB_DEFINE_STAGE_PLUGIN(C2FFactory)
