// Minimal Registry implementation so that the stages branch builds and tests on its own.
// The integrator takes the pipeline helper's version of this file instead.
#include "pipeline/registry.h"

#include <stdexcept>

namespace mqb::pipeline {

Registry& Registry::builtin() {
  static Registry r;
  return r;
}

void Registry::add(StageFactoryPtr factory) {
  std::string type(factory->type());
  if (factories_.count(type) != 0) {
    throw std::logic_error("stage type \"" + type + "\" registered twice");
  }
  factories_.emplace(std::move(type), std::move(factory));
}

const StageFactory* Registry::find(std::string_view type) const noexcept {
  auto it = factories_.find(type);
  return it == factories_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Registry::types() const {
  std::vector<std::string> out;
  for (const auto& kv : factories_) {
    out.push_back(kv.first);
  }
  return out;
}

std::vector<ConfiguredStage> Registry::parseStages(const config::RouteSpec& route,
                                                   config::Diagnostics& diag) const {
  std::vector<ConfiguredStage> out;
  for (const auto& s : route.stages) {
    ConfiguredStage c;
    c.type = s.type;
    c.path = s.path;
    c.factory = find(s.type);
    if (c.factory == nullptr) {
      std::string msg = "unknown stage type \"" + s.type + "\"; known types:";
      const auto known = types();
      for (std::size_t i = 0; i < known.size(); ++i) {
        msg += (i == 0 ? " " : ", ") + known[i];
      }
      diag.error(s.where, s.path + ".type", msg);
    } else {
      c.config = c.factory->parse(s.params, s.where.file, s.path, diag);
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace mqb::pipeline
