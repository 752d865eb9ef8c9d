#pragma once
// qos: sets the outgoing QoS (the bridge subscribes and publishes at the route's QoS).

#include <cstdint>

#include "pipeline/stage.h"

namespace mqb::stages::qos {

class Qos final : public pipeline::Stage {
 public:
  explicit Qos(std::uint8_t qos) noexcept : qos_(qos) {}
  void process(pipeline::Message&& msg, pipeline::Emitter& out) noexcept override {
    msg.qos = qos_;
    out.emit(std::move(msg));
  }

 private:
  std::uint8_t qos_;
};

}  // namespace mqb::stages::qos
