#pragma once
// StageCounters over a route branch's prometheus metrics: what the graph builder (and tools that
// run stages outside a graph, such as `mqbridge test`) hand to stages as StageContext::counters.

#include "metrics/route_metrics.h"
#include "pipeline/stage.h"

namespace mqb::pipeline {

class RouteCounters final : public StageCounters {
 public:
  /// `metrics` may be null (nothing is counted); it must outlive this object.
  explicit RouteCounters(metrics::RouteMetrics* metrics = nullptr) noexcept : metrics_(metrics) {}
  RouteCounters(const RouteCounters&) = delete;
  RouteCounters& operator=(const RouteCounters&) = delete;
  /// Counts into `metrics` from now on (null: nothing).
  void bind(metrics::RouteMetrics* metrics) noexcept { metrics_ = metrics; }

  void drop(metrics::DropReason r, double n = 1) noexcept override {
    if (metrics_ != nullptr) {
      metrics_->drop(r, n);
    }
  }
  void waited(double seconds) noexcept override {
    if (metrics_ != nullptr && metrics_->rateLimitWaitSeconds != nullptr) {
      metrics_->rateLimitWaitSeconds->Increment(seconds);
    }
  }

 private:
  metrics::RouteMetrics* metrics_;
};

}  // namespace mqb::pipeline
