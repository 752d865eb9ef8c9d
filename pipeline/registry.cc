#include "pipeline/registry.h"

#include <stdexcept>

#include "config/fields.h"
#include "config/yaml_params.h"

namespace mqb::pipeline {

// Registry::builtin() is defined in stages/builtin.cc: the built-in stages live in the stages
// library, which depends on this one, so defining it there keeps the dependency one-way.

void Registry::add(StageFactoryPtr factory) {
  if (!factory) {
    throw std::logic_error("Registry::add: null stage factory");
  }
  std::string type(factory->type());
  if (type.empty()) {
    throw std::logic_error("Registry::add: stage factory with an empty type");
  }
  auto [it, inserted] = factories_.try_emplace(type, nullptr);
  if (!inserted) {
    throw std::logic_error("Registry::add: stage type \"" + type + "\" registered twice");
  }
  it->second = std::move(factory);
}

const StageFactory* Registry::find(std::string_view type) const noexcept {
  auto it = factories_.find(type);
  return it == factories_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Registry::types() const {
  std::vector<std::string> out;
  out.reserve(factories_.size());
  for (const auto& [type, f] : factories_) {
    out.push_back(type);  // std::map: already sorted
  }
  return out;
}

std::string Registry::unknownTypeMessage(std::string_view type) const {
  const std::vector<std::string> known = types();
  std::string msg = "unknown stage type \"" + std::string(type) + "\"";
  const std::string near = config::nearest(type, known);
  if (!near.empty()) {
    msg += " (did you mean \"" + near + "\"?)";
  }
  msg += "; known types: ";
  for (std::size_t i = 0; i < known.size(); ++i) {
    msg += (i == 0 ? "" : ", ") + known[i];
  }
  return msg;
}

ConfiguredStage Registry::parseStage(const config::StageSpec& spec,
                                     config::Diagnostics& diag) const {
  ConfiguredStage out;
  out.type = spec.type;
  out.path = spec.path;
  const StageFactory* f = find(spec.type);
  if (f == nullptr) {
    config::Location where = spec.where;
    const YAML::Node& params = spec.params;
    if (params.IsMap()) {
      if (const YAML::Node t = params["type"]) {
        where = config::locationOf(t, spec.where.file);
        if (where.line == 0) {
          where = spec.where;
        }
      }
    }
    diag.error(where, spec.path + ".type", unknownTypeMessage(spec.type));
    return out;
  }
  out.factory = f;
  config::Diagnostics local;
  config::YamlParams params(spec.params, spec.where.file, spec.path, local);
  out.config = f->parse(params);
  for (config::Diagnostic d : local.all()) {
    if (d.where.line == 0) {
      d.where = spec.where;
    }
    diag.add(std::move(d));
  }
  if (!out.config) {
    out.factory = nullptr;
  }
  return out;
}

std::vector<ConfiguredStage> Registry::parseStages(const std::vector<config::StageSpec>& stages,
                                                   config::Diagnostics& diag) const {
  std::vector<ConfiguredStage> out;
  out.reserve(stages.size());
  for (const auto& s : stages) {
    out.push_back(parseStage(s, diag));
  }
  return out;
}

}  // namespace mqb::pipeline
