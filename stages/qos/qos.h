#pragma once
// qos: sets the outgoing QoS (the bridge subscribes and publishes at the route's QoS).

#include <cstdint>
#include <memory>

#include "pipeline/stage.h"

namespace mqb::stages::qos {

/// Immutable parameters (shared by every branch of a route).
struct QosConfig {
  std::uint8_t qos = 1;
};

class QosStage final : public pipeline::Stage {
 public:
  QosStage(std::shared_ptr<const QosConfig> config, const pipeline::StageContext&) noexcept
      : qos_(config->qos) {}
  void process(pipeline::Message&& msg, pipeline::Emitter& out) noexcept override {
    msg.qos = qos_;
    out.emit(std::move(msg));
  }

 private:
  std::uint8_t qos_;
};

}  // namespace mqb::stages::qos
