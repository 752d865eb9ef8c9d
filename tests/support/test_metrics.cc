#include "tests/support/test_metrics.h"

namespace mqb::test {

TestMetrics::TestMetrics()
    : metrics_(std::make_unique<metrics::Metrics>("test", "test")),
      route(metrics_->bindRoute("test", "r", metrics::kLocalToRemote, "0")),
      client(metrics_->bindClient("test", "r", metrics::kLocalToRemote, "remote", "pub-0", false)) {
}

TestMetrics::~TestMetrics() = default;

double TestMetrics::dropped(metrics::DropReason r) const {
  return route.dropped[static_cast<std::size_t>(r)]->Value();
}

double TestMetrics::connectFailures() const {
  double sum = 0;
  for (const auto* c : client.failures) {
    sum += c != nullptr ? c->Value() : 0;
  }
  return sum;
}

}  // namespace mqb::test
