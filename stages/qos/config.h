#pragma once
// qos: configuration (YAML parameters, validation) and registration. Logic: qos.h.
//
//   - type: qos
//     qos: 0        # 0 | 1; default 1
//
// Every route runs one with the route's qos first (config::stageChain); a route's own qos stage
// written without `qos` takes the route's.

#include "pipeline/stage_factory.h"
#include "stages/qos/qos.h"

namespace mqb::stages::qos {

class QosFactory final : public pipeline::TypedStageFactory<QosConfig, QosStage> {
 public:
  std::string_view type() const noexcept override { return "qos"; }
  std::string_view description() const noexcept override;

 protected:
  void read(pipeline::StageParams& p, QosConfig& config) const override;
};

/// Registers the `qos` stage type.
pipeline::StageFactoryPtr makeFactory();

}  // namespace mqb::stages::qos
