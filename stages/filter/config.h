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

#include <memory>
#include <string>

#include "pipeline/registry.h"
#include "pipeline/stage.h"

namespace mqb::stages::filter {

class FilterFactory final : public pipeline::StageFactory {
 public:
  std::string_view type() const noexcept override { return "filter"; }
  std::string_view description() const noexcept override;
  pipeline::StageConfigPtr parse(const YAML::Node& params, const std::string& file,
                                 const std::string& path, config::Diagnostics& diag) const override;
  pipeline::StagePtr create(const pipeline::StageConfigPtr& cfg,
                            const pipeline::StageContext& ctx) const override;
};

/// Registers the `filter` stage type.
pipeline::StageFactoryPtr makeFactory();

}  // namespace mqb::stages::filter
