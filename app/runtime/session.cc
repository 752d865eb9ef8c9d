#include "app/runtime/session.h"

#include <condition_variable>
#include <memory>
#include <mutex>

#include "common/log.h"

namespace mqb::app {
namespace {

struct Pending {
  std::mutex mu;
  std::condition_variable cv;
  int state = 0;  // 0 waiting, 1 ok, -1 failed
  void finish(int s) {
    std::lock_guard<std::mutex> lock(mu);
    state = s;
    cv.notify_all();
  }
};

}  // namespace

std::map<std::string, std::string> planSubscriptions(const config::Plan& plan) {
  std::map<std::string, std::string> m;
  for (const auto& cp : plan.connectors()) {
    for (const auto& rp : cp.routes) {
      for (const auto& cl : rp.clients) {
        m[cl.clientId] = cl.subscription;
      }
    }
  }
  return m;
}

bool unsubscribeSource(sources::MqttSource& source, std::chrono::milliseconds timeout) {
  mqtt::Client& c = source.client();
  if (!c.connected()) {
    return false;
  }
  auto pending = std::make_shared<Pending>();
  // v5 UNSUBACK reason >= 0x80 is a failure (0x11: there was no such subscription).
  const auto rc = c.unsubscribe(source.subscription(),
                                [pending](bool ok, std::uint8_t) { pending->finish(ok ? 1 : -1); });
  if (rc != mqtt::Client::Send::Ok) {
    return false;
  }
  std::unique_lock<std::mutex> lock(pending->mu);
  pending->cv.wait_for(lock, timeout, [&] { return pending->state != 0; });
  return pending->state == 1;
}

void dropStaleSubscription(sources::MqttSource& source,
                           const std::map<std::string, std::string>& next) {
  const std::string& id = source.client().options().clientId;
  const auto it = next.find(id);
  if (it != next.end() && it->second == source.subscription()) {
    return;  // same client, same subscription (maybe another instance now): keep the session
  }
  const bool ok = unsubscribeSource(source, std::chrono::milliseconds(2000));
  log::info("subscription_dropped", {{"client_id", id},
                                     {"subscription", source.subscription()},
                                     {"now", it == next.end() ? "(client removed)" : it->second},
                                     {"unsubscribed", ok ? "true" : "false (not connected)"}});
}

}  // namespace mqb::app
