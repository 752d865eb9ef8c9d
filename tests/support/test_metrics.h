#pragma once
// Metrics for tests that drive stages, graphs, sources or sinks without the bridge: one route
// branch's RouteMetrics and one client's ClientMetrics, bound by the bridge's own
// metrics::Metrics on a private registry (so every series the bridge binds is there), with
// readers for the values tests assert on.
//
//   TestMetrics m;
//   ctx.metrics = &m.route;  ...  EXPECT_EQ(m.dropped(metrics::DropReason::Filtered), 1);

#include <memory>

#include "metrics/metrics.h"
#include "metrics/route_metrics.h"

namespace mqb::test {

class TestMetrics {
 public:
  TestMetrics();
  /// Movable (the bindings live on the heap and keep their addresses); not copyable.
  TestMetrics(TestMetrics&&) noexcept = default;
  TestMetrics(const TestMetrics&) = delete;
  TestMetrics& operator=(const TestMetrics&) = delete;
  TestMetrics& operator=(TestMetrics&&) = delete;
  ~TestMetrics();

 private:
  std::unique_ptr<metrics::Metrics> metrics_;  // declared first: owns what route/client bind

 public:
  metrics::RouteMetrics& route;    ///< connector "test", route "r", branch "0"
  metrics::ClientMetrics& client;  ///< the same route's remote-side publisher "pub-0"

  double received() const { return route.received->Value(); }
  double forwarded() const { return route.forwarded->Value(); }
  double dropped(metrics::DropReason r) const;
  double inflight() const { return route.inflight->Value(); }
  double rateLimitWaitSeconds() const { return route.rateLimitWaitSeconds->Value(); }
  /// Sum of the client's connect failures over every reason.
  double connectFailures() const;
};

}  // namespace mqb::test
