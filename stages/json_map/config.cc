#include "stages/json_map/config.h"

#include "config/fields.h"
#include "stages/common/config_util.h"
#include "stages/json_map/json_map.h"

namespace mqb::stages::json_map {
namespace {

/// A path written as a mapping key or list item; errors point at `node`.
std::optional<common::JsonPath> pathAt(config::Fields& f, const YAML::Node& node,
                                       const std::string& yamlPath) {
  if (!node.IsScalar()) {
    f.diag().error(config::locationOf(node, f.file()), yamlPath, "expected a field path");
    return std::nullopt;
  }
  std::string error;
  auto p = common::JsonPath::parse(node.Scalar(), error);
  if (!p) {
    f.diag().error(config::locationOf(node, f.file()), yamlPath, error);
  }
  return p;
}

}  // namespace

std::string_view JsonMapFactory::description() const noexcept {
  return "Renames, drops or adds (constant) fields of a JSON object payload.";
}

pipeline::StageConfigPtr JsonMapFactory::parse(const YAML::Node& params, const std::string& file,
                                               const std::string& path,
                                               config::Diagnostics& diag) const {
  const std::size_t before = diag.errorCount();
  config::Fields f(params, file, path, diag);
  if (!f.ok()) {
    return nullptr;
  }
  f.allow({"type"});
  auto spec = std::make_shared<JsonMapSpec>();
  if (YAML::Node n = f.mapping("rename"); n.IsDefined()) {
    for (const auto& kv : n) {
      const std::string p = f.pathOf("rename") + "." + kv.first.Scalar();
      auto from = pathAt(f, kv.first, p);
      auto to = pathAt(f, kv.second, p);
      if (from && to) {
        spec->rename.push_back({std::move(*from), std::move(*to)});
      }
    }
  }
  if (YAML::Node n = f.sequence("drop"); n.IsDefined()) {
    for (std::size_t i = 0; i < n.size(); ++i) {
      if (auto p = pathAt(f, n[i], f.pathOf("drop") + "[" + std::to_string(i) + "]")) {
        spec->drop.push_back(std::move(*p));
      }
    }
  }
  if (YAML::Node n = f.mapping("add"); n.IsDefined()) {
    for (const auto& kv : n) {
      if (auto p = pathAt(f, kv.first, f.pathOf("add") + "." + kv.first.Scalar())) {
        spec->add.emplace_back(std::move(*p), common::yamlToJson(kv.second));
      }
    }
  }
  if (auto e = common::readOnError(f)) {
    spec->onError = *e;
  }
  if (!f.has("rename") && !f.has("drop") && !f.has("add")) {
    f.error("", "needs at least one of rename, drop, add");
  }
  f.finish();
  if (diag.errorCount() > before) {
    return nullptr;
  }
  return spec;
}

pipeline::StagePtr JsonMapFactory::create(const pipeline::StageConfigPtr& cfg,
                                          const pipeline::StageContext& ctx) const {
  return std::make_unique<JsonMapStage>(std::static_pointer_cast<const JsonMapSpec>(cfg),
                                        ctx.metrics);
}

pipeline::StageFactoryPtr makeFactory() { return std::make_unique<JsonMapFactory>(); }

}  // namespace mqb::stages::json_map
