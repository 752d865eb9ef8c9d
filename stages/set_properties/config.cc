#include "stages/set_properties/config.h"

#include "stages/common/config_util.h"

namespace mqb::stages::set_properties {
namespace {

/// `userProperties` written as a mapping of names to values (each edit in mode set).
void readEditMap(config::Params& n, SetPropertiesConfig& spec) {
  for (const auto& [key, value] : n.entries()) {
    if (value->kind() != config::Params::Kind::Scalar) {
      value->fail("expected a string value");
      continue;
    }
    if (key->scalar().empty()) {
      key->fail("a property name must not be empty");
      continue;
    }
    spec.edits.push_back({key->scalar(), value->scalar(), Mode::Set});
  }
}

void readEdits(pipeline::StageParams& p, SetPropertiesConfig& spec) {
  const config::ParamsPtr n = p.value("userProperties");
  if (!n) {
    return;
  }
  if (n->kind() == config::Params::Kind::Mapping) {
    readEditMap(*n, spec);
    return;
  }
  if (n->kind() != config::Params::Kind::List) {
    p.error("userProperties",
            "expected a list of {name, value, mode} or a mapping of names to values");
    return;
  }
  for (std::size_t i = 0; i < n->size(); ++i) {
    const config::ParamsPtr e = n->item(i);
    if (!e->ok()) {
      continue;
    }
    auto name = e->str("name", true);
    auto value = e->str("value", true);
    auto mode = e->enumeration("mode", {"set", "add"});
    e->finish();
    if (name && name->empty()) {
      e->error("name", "a property name must not be empty");
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

void SetPropertiesFactory::read(pipeline::StageParams& p, SetPropertiesConfig& spec) const {
  readEdits(p, spec);
  if (auto r = p.strings("removeUserProperties")) {
    spec.remove = std::move(*r);
  }
  spec.contentType = p.str("contentType");
  if (auto pf = p.enumeration("payloadFormat", {"bytes", "utf8"})) {
    spec.payloadFormat = *pf == "utf8" ? 1 : 0;
  }
  if (auto e = common::readOnError(p)) {
    spec.onError = *e;
  }
  if (!p.has("userProperties") && !p.has("removeUserProperties") && !p.has("contentType") &&
      !p.has("payloadFormat")) {
    p.error("",
            "needs at least one of userProperties, removeUserProperties, contentType, "
            "payloadFormat");
  }
}

pipeline::StageFactoryPtr makeFactory() { return std::make_unique<SetPropertiesFactory>(); }

}  // namespace mqb::stages::set_properties
