// A well-formed stage plugin: type `test_tag` appends the user property {tag: <value>}. Built
// like an out-of-tree plugin: only the stage API headers, no yaml-cpp and no prometheus; its
// parameters are read through the host's config::Params view.
#include "pipeline/plugin.h"

namespace {

struct TagConfig {
  std::string value;
};

class TagStage final : public mqb::pipeline::Stage {
 public:
  TagStage(std::shared_ptr<const TagConfig> config, const mqb::pipeline::StageContext&)
      : value_(config->value) {}
  void process(mqb::pipeline::Message&& msg, mqb::pipeline::Emitter& out) noexcept override {
    msg.props.user.push_back({"tag", value_});
    out.emit(std::move(msg));
  }

 private:
  std::string value_;
};

class TagFactory final : public mqb::pipeline::TypedStageFactory<TagConfig, TagStage> {
 public:
  std::string_view type() const noexcept override { return "test_tag"; }
  std::string_view description() const noexcept override { return "Appends a tag property."; }

 protected:
  void read(mqb::pipeline::StageParams& p, TagConfig& config) const override {
    config.value = p.str("value", true).value_or("");
  }
};

}  // namespace

MQB_DEFINE_STAGE_PLUGIN(TagFactory)
