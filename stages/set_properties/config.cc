#include "stages/set_properties/config.h"

#include "config/fields.h"
#include "stages/common/config_util.h"
#include "stages/set_properties/set_properties.h"

namespace mqb::stages::set_properties {
namespace {

void readEdits(config::Fields& f, SetPropertiesSpec& spec) {
  const YAML::Node n = f.node("userProperties");
  if (!n.IsDefined()) {
    return;
  }
  const std::string base = f.pathOf("userProperties");
  if (n.IsMap()) {
    for (const auto& kv : n) {
      const std::string path = base + "." + kv.first.Scalar();
      if (!kv.second.IsScalar()) {
        f.diag().error(config::locationOf(kv.second, f.file()), path, "expected a string value");
        continue;
      }
      if (kv.first.Scalar().empty()) {
        f.diag().error(config::locationOf(kv.first, f.file()), path,
                       "a property name must not be empty");
        continue;
      }
      spec.edits.push_back({kv.first.Scalar(), kv.second.Scalar(), Mode::Set});
    }
    return;
  }
  if (!n.IsSequence()) {
    f.error("userProperties",
            "expected a list of {name, value, mode} or a mapping of names to values");
    return;
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    config::Fields e(n[i], f.file(), base + "[" + std::to_string(i) + "]", f.diag());
    if (!e.ok()) {
      continue;
    }
    PropertyEdit edit;
    auto name = e.str("name", true);
    auto value = e.str("value", true);
    auto mode = e.enumeration("mode", {"set", "add"});
    e.finish();
    if (name && name->empty()) {
      e.error("name", "a property name must not be empty");
      continue;
    }
    if (name && value) {
      spec.edits.push_back({*name, *value, mode == "add" ? Mode::Add : Mode::Set});
    }
  }
}

}  // namespace

std::string_view SetPropertiesFactory::description() const noexcept {
  return "Adds, overrides or removes v5 user properties; sets content type and payload format.";
}

pipeline::StageConfigPtr SetPropertiesFactory::parse(const YAML::Node& params,
                                                     const std::string& file,
                                                     const std::string& path,
                                                     config::Diagnostics& diag) const {
  const std::size_t before = diag.errorCount();
  config::Fields f(params, file, path, diag);
  if (!f.ok()) {
    return nullptr;
  }
  f.allow({"type"});
  auto spec = std::make_shared<SetPropertiesSpec>();
  readEdits(f, *spec);
  if (auto r = f.strings("removeUserProperties")) {
    spec->remove = std::move(*r);
  }
  spec->contentType = f.str("contentType");
  if (auto pf = f.enumeration("payloadFormat", {"bytes", "utf8"})) {
    spec->payloadFormat = *pf == "utf8" ? 1 : 0;
  }
  if (auto e = common::readOnError(f)) {
    spec->onError = *e;
  }
  if (!f.has("userProperties") && !f.has("removeUserProperties") && !f.has("contentType") &&
      !f.has("payloadFormat")) {
    f.error("",
            "needs at least one of userProperties, removeUserProperties, contentType, "
            "payloadFormat");
  }
  f.finish();
  if (diag.errorCount() > before) {
    return nullptr;
  }
  return spec;
}

pipeline::StagePtr SetPropertiesFactory::create(const pipeline::StageConfigPtr& cfg,
                                                const pipeline::StageContext& ctx) const {
  return std::make_unique<SetPropertiesStage>(
      std::static_pointer_cast<const SetPropertiesSpec>(cfg), ctx.metrics);
}

pipeline::StageFactoryPtr makeFactory() { return std::make_unique<SetPropertiesFactory>(); }

}  // namespace mqb::stages::set_properties
