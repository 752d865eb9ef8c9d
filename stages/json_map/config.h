#pragma once
// json_map: configuration (YAML parameters, validation) and registration. Logic: json_map.h.
//
//   - type: json_map
//     rename: {temp: temperature, "meta.dev": device}   # from: to (dotted paths or JSON pointers)
//     drop: [debug, /meta/raw]
//     add: {site: plant-a, meta.schema: 2}             # constant values (any YAML value)
//     onError: drop          # drop (default) | pass: payload not a JSON object

#include <string>

#include "pipeline/registry.h"
#include "pipeline/stage.h"

namespace mqb::stages::json_map {

class JsonMapFactory final : public pipeline::StageFactory {
 public:
  std::string_view type() const noexcept override { return "json_map"; }
  std::string_view description() const noexcept override;
  pipeline::StageConfigPtr parse(const YAML::Node& params, const std::string& file,
                                 const std::string& path, config::Diagnostics& diag) const override;
  pipeline::StagePtr create(const pipeline::StageConfigPtr& cfg,
                            const pipeline::StageContext& ctx) const override;
};

/// Registers the `json_map` stage type.
pipeline::StageFactoryPtr makeFactory();

}  // namespace mqb::stages::json_map
