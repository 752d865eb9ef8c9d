#pragma once
// Sinks publish what a route's branch produced.

#include <cstddef>
#include <functional>
#include <memory>

#include "pipeline/message.h"

namespace mqb::pipeline {

/// Called by a sink each time it lets go of messages it was given (acknowledged, failed or
/// dropped), so the route's in-flight limit can admit more. Thread-safe; never blocks.
using ReleaseFn = std::function<void(std::size_t count)>;

/// Contract:
///  * write() is called by one thread at a time (the branch's sink node), in branch order.
///  * The sink owns the messages it is given; it settles each message's completion exactly once
///    (Delivered when the target acknowledged it, Dropped with a counted reason otherwise) and then
///    calls the release function for it.
///  * write() must not block on the network and must not throw. It may queue internally: the
///    route's in-flight limit bounds how much it can be given.
///  * Honours Message::notBefore (rate limiting) by not publishing before that time.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void setRelease(ReleaseFn release) = 0;
  virtual void write(Batch&& batch) noexcept = 0;
  /// Starts connections. Returns immediately; connecting continues in the background.
  virtual void start() {}
  /// Stops now: the graph has given the sink its drain time before it calls this. Messages still
  /// held are settled (Dropped for QoS 0, left to the spool/broker session otherwise) and
  /// released. Bounded: returns within a few seconds even if the target does not answer.
  virtual void stop() {}
};
using SinkPtr = std::unique_ptr<Sink>;

}  // namespace mqb::pipeline
