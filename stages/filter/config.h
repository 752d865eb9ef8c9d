#pragma once
// filter: configuration (YAML parameters, validation) and registration. Logic: filter.h.
//
//   - type: filter
//     action: keep              # keep (default) | drop: what happens to messages that match
//     topic: sensors/+/temp     # a topic filter or a list of them (any matches)
//     userProperty: {name: site, value: plant-a}   # without value: the property must exist
//     json: {field: temperature, op: ">", value: 30}  # ==, !=, <, <=, >, >=, exists
//     onError: drop             # drop (default) | pass: a payload that is not JSON
// At least one of topic, userProperty and json; all given must match.

#include "pipeline/stage_factory.h"
#include "stages/filter/filter.h"

namespace mqb::stages::filter {

class FilterFactory final : public pipeline::TypedStageFactory<FilterConfig, FilterStage> {
 public:
  std::string_view type() const noexcept override { return "filter"; }
  std::string_view description() const noexcept override;

 protected:
  void read(pipeline::StageParams& p, FilterConfig& config) const override;
};

/// Registers the `filter` stage type.
pipeline::StageFactoryPtr makeFactory();

}  // namespace mqb::stages::filter
