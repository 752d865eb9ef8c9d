#pragma once
// What every transform stage does with a message it does not forward: count it with a reason and
// settle its completion with the matching outcome. Logic-side helper (no configuration).

#include "metrics/reasons.h"
#include "pipeline/message.h"
#include "pipeline/stage.h"

namespace mqb::stages::common {

/// What a stage does with a message it failed on (bad JSON, invalid UTF-8...). YAML `onError`.
enum class OnError : std::uint8_t {
  Drop,  ///< settle Dropped, count DropReason::StageError (default)
  Pass,  ///< forward the message unchanged (the failure is not counted as a drop)
};

/// Settles `msg` (Filtered for DropReason::Filtered, Dropped otherwise) and counts the reason on
/// `counters` if not null. The message is then destroyed by the caller.
inline void drop(pipeline::Message& msg, pipeline::StageCounters* counters,
                 metrics::DropReason reason) noexcept {
  if (counters != nullptr) {
    counters->drop(reason);
  }
  msg.completion.settle(reason == metrics::DropReason::Filtered ? pipeline::Outcome::Filtered
                                                                : pipeline::Outcome::Dropped);
}

}  // namespace mqb::stages::common
