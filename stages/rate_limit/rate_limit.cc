#include "stages/rate_limit/rate_limit.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace mqb::stages::rate_limit {

Bucket::Bucket(double rate, double burst) noexcept {
  if (rate > 0) {
    intervalNs_ = 1e9 / rate;
    toleranceNs_ = (burst > 0 ? burst : rate) * intervalNs_;
  }
}

double Bucket::take(double nowNs, double cost) noexcept {
  const double start = std::max(tatNs_, nowNs);
  tatNs_ = start + cost * intervalNs_;
  return std::max(nowNs, tatNs_ - toleranceNs_);
}

RateLimitStage::RateLimitStage(std::shared_ptr<const RateLimitConfig> limits,
                               const pipeline::StageContext& ctx)
    : messages_(limits->messagesPerSecond, limits->burstMessages),
      bytes_(limits->bytesPerSecond, limits->burstBytes),
      clock_(ctx.clock != nullptr ? ctx.clock : &pipeline::SystemClock::instance()),
      counters_(ctx.counters),
      origin_(clock_->now()) {}

void RateLimitStage::process(pipeline::Message&& msg, pipeline::Emitter& out) noexcept {
  if (!messages_.enabled() && !bytes_.enabled()) {
    out.emit(std::move(msg));
    return;
  }
  const double now = static_cast<double>(
      std::chrono::duration_cast<pipeline::Nanos>(clock_->now() - origin_).count());
  double at = std::max(now, lastNs_);
  if (messages_.enabled()) {
    at = std::max(at, messages_.take(now, 1));
  }
  if (bytes_.enabled()) {
    at = std::max(at, bytes_.take(now, static_cast<double>(msg.payload.size())));
  }
  lastNs_ = at;
  if (at > now) {
    const double wait = at - now;
    waitedNs_ += wait;
    if (counters_ != nullptr) {
      counters_->waited(wait / 1e9);
    }
    const auto stamp = origin_ + pipeline::Nanos(static_cast<std::int64_t>(std::ceil(at)));
    msg.notBefore = std::max(msg.notBefore, stamp);
  }
  out.emit(std::move(msg));
}

}  // namespace mqb::stages::rate_limit
