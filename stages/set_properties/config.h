#pragma once
// set_properties: configuration (YAML parameters, validation) and registration.
// Logic: set_properties.h.
//
//   - type: set_properties
//     userProperties:                 # a list of edits, applied in order...
//       - {name: site, value: plant-a}              # mode: set (default) | add
//       - {name: via, value: mqbridge, mode: add}
//     # ...or a mapping, each entry in mode set:  userProperties: {site: plant-a}
//     removeUserProperties: [debug]   # names removed first
//     contentType: application/json
//     payloadFormat: utf8             # utf8 | bytes
//     onError: drop                   # drop (default) | pass: payload not UTF-8 under utf8

#include "pipeline/stage_factory.h"
#include "stages/set_properties/set_properties.h"

namespace mqb::stages::set_properties {

class SetPropertiesFactory final
    : public pipeline::TypedStageFactory<SetPropertiesConfig, SetPropertiesStage> {
 public:
  std::string_view type() const noexcept override { return "set_properties"; }
  std::string_view description() const noexcept override;

 protected:
  void read(pipeline::StageParams& p, SetPropertiesConfig& config) const override;
};

/// Registers the `set_properties` stage type.
pipeline::StageFactoryPtr makeFactory();

}  // namespace mqb::stages::set_properties
