#pragma once
// How a route's subscribers and publishers set a message aside: into the route's store, counted,
// logged, and optionally announced on a dead-letter topic. Shared by every branch of the route.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/log.h"
#include "deadletter/store.h"
#include "metrics/route_metrics.h"

namespace mqb::deadletter {

class RouteLetters {
 public:
  /// Called with each stored record (e.g. to republish it on a dead-letter topic); on the
  /// caller's thread, must not block.
  using Notify = std::function<void(const Record&)>;

  RouteLetters(std::shared_ptr<Store> store, std::string connector, std::string route,
               std::string direction, Notify notify = nullptr);

  /// Stores `m` for `reason`. True when it is safe in the store: the caller settles it as
  /// dropped with DropReason::DeadLettered. False when the store refused it (full, I/O error):
  /// logged; the caller counts it dropped with DropReason::Rejected. `metrics` (may be null)
  /// counts mqbridge_deadletter_messages_total{reason}. Thread-safe.
  bool put(const mqtt::Message& m, metrics::DeadLetterReason reason, const std::string& detail,
           metrics::RouteMetrics* metrics);

  const Store& store() const noexcept { return *store_; }

 private:
  std::shared_ptr<Store> store_;
  std::string connector_;
  std::string route_;
  std::string direction_;
  Notify notify_;
  log::Every logEvery_{std::chrono::seconds(1)};
  log::Every failEvery_{std::chrono::seconds(10)};
};

}  // namespace mqb::deadletter
