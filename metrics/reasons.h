#pragma once
// Why a message was not forwarded: the bounded `reason` label of the route's dropped-messages
// counter. Free of prometheus, so that stages (and stage plugins) can name a reason without
// pulling the metrics library; metrics/route_metrics.h binds one counter per reason.

#include <cstdint>
#include <string_view>

namespace mqb::metrics {

/// Why a message was not forwarded. Bounded set: used as the `reason` label.
enum class DropReason : std::uint8_t {
  Expired,           ///< v5 message expiry or route ttl passed
  Loop,              ///< carried this bridge's hop marker
  Overflow,          ///< route full and policy drops
  Template,          ///< target template could not be resolved for the topic
  Rejected,          ///< target broker refused it (PUBACK reason >= 0x80, packet too large...)
  Qos0Disconnected,  ///< QoS 0 while the target was unreachable
  Filtered,          ///< a filter stage chose not to forward it
  StageError,        ///< a stage failed on the message (e.g. bad JSON) and drops on error
  Shutdown,          ///< the bridge stopped before the message could be delivered (QoS 0)
  TooLarge,          ///< over the source client's maximum packet size (discarded unread)
  DeadLettered,      ///< set aside in the route's dead-letter store (see DeadLetterReason)
  kCount
};

/// The label value, e.g. "stage_error".
std::string_view toString(DropReason r) noexcept;

}  // namespace mqb::metrics
