// A well-formed stage plugin: type `test_tag` appends the user property {tag: <value>}.
// Uses config::Fields, which is resolved from the loading executable.
#include "config/fields.h"
#include "pipeline/plugin.h"

namespace {

struct TagConfig final : mqb::pipeline::StageConfig {
  std::string value;
};

class TagStage final : public mqb::pipeline::Stage {
 public:
  explicit TagStage(std::string v) : value_(std::move(v)) {}
  void process(mqb::pipeline::Message&& msg, mqb::pipeline::Emitter& out) noexcept override {
    msg.props.user.push_back({"tag", value_});
    out.emit(std::move(msg));
  }

 private:
  std::string value_;
};

class TagFactory final : public mqb::pipeline::StageFactory {
 public:
  std::string_view type() const noexcept override { return "test_tag"; }
  std::string_view description() const noexcept override { return "Appends a tag property."; }
  mqb::pipeline::StageConfigPtr parse(const YAML::Node& params, const std::string& file,
                                      const std::string& path,
                                      mqb::config::Diagnostics& diag) const override {
    mqb::config::Fields f(params, file, path, diag);
    f.allow({"type"});
    auto v = f.str("value", true);
    f.finish();
    if (!v) {
      return nullptr;
    }
    auto c = std::make_shared<TagConfig>();
    c->value = *v;
    return c;
  }
  mqb::pipeline::StagePtr create(const mqb::pipeline::StageConfigPtr& cfg,
                                 const mqb::pipeline::StageContext&) const override {
    return std::make_unique<TagStage>(static_cast<const TagConfig&>(*cfg).value);
  }
};

}  // namespace

MQB_DEFINE_STAGE_PLUGIN(TagFactory)
