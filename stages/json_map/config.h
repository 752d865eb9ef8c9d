#pragma once
// json_map: configuration (YAML parameters, validation) and registration. Logic: json_map.h.
//
//   - type: json_map
//     rename: {temp: temperature, "meta.dev": device}   # from: to (dotted paths or JSON pointers)
//     drop: [debug, /meta/raw]
//     add: {site: plant-a, meta.schema: 2}             # constant values (any YAML value)
//     onError: drop          # drop (default) | pass: payload not a JSON object

#include "pipeline/stage_factory.h"
#include "stages/json_map/json_map.h"

namespace mqb::stages::json_map {

class JsonMapFactory final : public pipeline::TypedStageFactory<JsonMapConfig, JsonMapStage> {
 public:
  std::string_view type() const noexcept override { return "json_map"; }
  std::string_view description() const noexcept override;

 protected:
  void read(pipeline::StageParams& p, JsonMapConfig& config) const override;
};

/// Registers the `json_map` stage type.
pipeline::StageFactoryPtr makeFactory();

}  // namespace mqb::stages::json_map
