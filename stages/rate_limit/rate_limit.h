#pragma once
// rate_limit: token buckets (messages/s and bytes/s, each with a burst) per branch, i.e. per sink
// client. It never drops: a message over the rate gets Message::notBefore set to the earliest time
// the buckets allow it, and the sink waits until then. The wait is added to the route's
// rateLimitWaitSeconds counter.
//
// Each bucket is a GCRA (virtual scheduling): a message of cost c is allowed at
// max(now, tat + c*T - burst*T) where T = 1/rate and tat advances by c*T per message; so `burst`
// messages (bytes) pass at once from an idle bucket and then `rate` per second. Stamps never go
// backwards within a branch.

#include <cstdint>
#include <memory>

#include "config/model.h"
#include "pipeline/stage.h"

namespace mqb::stages::rate_limit {

/// The limits a branch applies (config/model.h): a zero rate is unlimited in that dimension, a
/// zero burst is one second's worth of its rate. Immutable, shared by every branch of a route.
using RateLimitConfig = config::RateLimitSpec;

/// One GCRA bucket. Not thread-safe (a branch's stage is serial).
class Bucket {
 public:
  Bucket() = default;
  /// `rate` units per second, `burst` units (0 = rate).
  Bucket(double rate, double burst) noexcept;
  bool enabled() const noexcept { return intervalNs_ > 0; }
  /// Takes `cost` units at `nowNs`; returns the earliest time (ns) they may be used (>= nowNs).
  double take(double nowNs, double cost) noexcept;

 private:
  double intervalNs_ = 0;   ///< ns per unit
  double toleranceNs_ = 0;  ///< burst * interval
  double tatNs_ = 0;        ///< theoretical arrival time
};

class RateLimitStage final : public pipeline::Stage {
 public:
  RateLimitStage(std::shared_ptr<const RateLimitConfig> limits, const pipeline::StageContext& ctx);
  void process(pipeline::Message&& msg, pipeline::Emitter& out) noexcept override;

  /// Total delay stamped so far, seconds (also counted in metrics).
  double waitedSeconds() const noexcept { return waitedNs_ / 1e9; }

 private:
  Bucket messages_;
  Bucket bytes_;
  const pipeline::Clock* clock_;
  pipeline::StageCounters* counters_;
  pipeline::SteadyTime origin_;
  double lastNs_ = 0;  ///< latest stamp (monotonic per branch)
  double waitedNs_ = 0;
};

}  // namespace mqb::stages::rate_limit
