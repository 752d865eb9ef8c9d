#include "deadletter/route_letters.h"

#include "common/text.h"

namespace mqb::deadletter {

RouteLetters::RouteLetters(std::shared_ptr<Store> store, std::string connector, std::string route,
                           std::string direction, Notify notify)
    : store_(std::move(store)),
      connector_(std::move(connector)),
      route_(std::move(route)),
      direction_(std::move(direction)),
      notify_(std::move(notify)) {}

bool RouteLetters::put(const mqtt::Message& m, metrics::DeadLetterReason reason,
                       const std::string& detail, metrics::RouteMetrics* metrics) {
  Record r;
  r.connector = connector_;
  r.route = route_;
  r.direction = direction_;
  r.reason = std::string(metrics::toString(reason));
  r.detail = detail;
  r.message = m;
  std::string error;
  const Store::Put st = store_->put(r, error);
  if (st != Store::Put::Ok) {
    std::uint64_t suppressed = 0;
    if (failEvery_.allow(&suppressed)) {
      log::error("deadletter_store_failed", {{"connector", connector_},
                                             {"route", route_},
                                             {"reason", r.reason},
                                             {"error", error},
                                             {"action", "message dropped"},
                                             {"suppressed", suppressed}});
    }
    return false;
  }
  if (metrics != nullptr) {
    metrics->deadLetter(reason);
  }
  std::uint64_t suppressed = 0;
  if (logEvery_.allow(&suppressed)) {
    log::warn("deadletter_stored", {{"connector", connector_},
                                    {"route", route_},
                                    {"reason", r.reason},
                                    {"detail", detail},
                                    {"topic", common::printable(m.topic)},
                                    {"id", r.id},
                                    {"dir", store_->dir()},
                                    {"suppressed", suppressed}});
  }
  if (notify_) {
    notify_(r);
  }
  return true;
}

}  // namespace mqb::deadletter
