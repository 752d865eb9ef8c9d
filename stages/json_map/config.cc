#include "stages/json_map/config.h"

#include "stages/common/config_util.h"

namespace mqb::stages::json_map {

std::string_view JsonMapFactory::description() const noexcept {
  return "Renames, drops or adds (constant) fields of a JSON object payload.";
}

void JsonMapFactory::read(pipeline::StageParams& p, JsonMapConfig& spec) const {
  if (const config::ParamsPtr n = p.mapping("rename")) {
    for (const auto& [key, value] : n->entries()) {
      auto from = common::jsonPathAt(*key);
      auto to = common::jsonPathAt(*value);
      if (from && to) {
        spec.rename.push_back({std::move(*from), std::move(*to)});
      }
    }
  }
  if (const config::ParamsPtr n = p.list("drop")) {
    for (std::size_t i = 0; i < n->size(); ++i) {
      if (auto path = common::jsonPathAt(*n->item(i))) {
        spec.drop.push_back(std::move(*path));
      }
    }
  }
  if (const config::ParamsPtr n = p.mapping("add")) {
    for (const auto& [key, value] : n->entries()) {
      if (auto path = common::jsonPathAt(*key)) {
        spec.add.emplace_back(std::move(*path), common::toJson(*value));
      }
    }
  }
  if (auto e = common::readOnError(p)) {
    spec.onError = *e;
  }
  if (!p.has("rename") && !p.has("drop") && !p.has("add")) {
    p.error("", "needs at least one of rename, drop, add");
  }
}

pipeline::StageFactoryPtr makeFactory() { return std::make_unique<JsonMapFactory>(); }

}  // namespace mqb::stages::json_map
