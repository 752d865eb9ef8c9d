#pragma once
// The stage runtime contract: what a built-in or custom transform implements to process
// messages. How a stage is configured and created is pipeline/stage_factory.h. This header (and
// everything it includes) is free of yaml-cpp, the configuration model and prometheus: it is part
// of the stage plugin ABI.
//
// Contract for every Stage:
//  * Ownership: process() receives the message by rvalue and owns it. To forward it, move it (or
//    forks of it, see Message::fork) into `out.emit()`. Whatever is not emitted is destroyed when
//    process() returns.
//  * Emit nothing = the message is not forwarded. A stage that drops a message on purpose settles
//    its completion with Outcome::Filtered (or Dropped for an error) and counts it with a reason
//    (ctx.counters->drop(...)); an unsettled message that is destroyed settles as Filtered.
//  * Emit several = fan-out: the extra messages are `msg.fork()`s that share the completion.
//  * Never throw: process() is noexcept. An exception escaping a oneTBB flow-graph body cancels the
//    whole route graph; the graph builder also wraps calls, but stages must not rely on it.
//  * Never block: no sleeping, no I/O waits. rate_limit delays by stamping Message::notBefore.
//  * Thread-safety: a stage instance belongs to one branch of one route and is called by one
//    thread at a time (serial); it need not lock its own state. The immutable config object
//    it was built from may be shared between branches.

#include <cstdint>
#include <memory>
#include <string_view>

#include "metrics/reasons.h"
#include "pipeline/clock.h"
#include "pipeline/message.h"

namespace mqb::pipeline {

/// Where a stage sends its output. Implemented by the graph builder and by tests.
class Emitter {
 public:
  virtual ~Emitter() = default;
  virtual void emit(Message&& msg) noexcept = 0;
};

class Stage {
 public:
  virtual ~Stage() = default;
  virtual void process(Message&& msg, Emitter& out) noexcept = 0;
};
using StagePtr = std::unique_ptr<Stage>;

/// What a stage counts into its route branch's metrics. Thread-safe; outlives the stage.
class StageCounters {
 public:
  /// `n` messages not forwarded, for reason `r` (the route's dropped-messages counter).
  virtual void drop(metrics::DropReason r, double n = 1) noexcept = 0;
  /// Delay the stage stamped onto messages (Message::notBefore), in seconds: the route's
  /// rate-limit wait counter.
  virtual void waited(double seconds) noexcept = 0;

 protected:
  ~StageCounters() = default;
};

/// What a stage may know about the branch it runs in. Outlives the stage. Everything else a stage
/// needs (the route's QoS, its target...) comes in its parameters.
struct StageContext {
  std::string_view route;    ///< route name, for log lines
  std::uint32_t branch = 0;  ///< shared-subscription branch index
  const Clock* clock = &SystemClock::instance();
  StageCounters* counters = nullptr;  ///< may be null in unit tests
};

}  // namespace mqb::pipeline
