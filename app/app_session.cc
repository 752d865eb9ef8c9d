#include "app/app_session.h"

#include <condition_variable>
#include <memory>
#include <mutex>

#include "metrics/log.h"

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

void ok5(void* ctx, MQTTAsync_successData5* r) {
  // v5 UNSUBACK reason code; >= 0x80 is a failure (0x11: there was no such subscription).
  const bool good = r == nullptr || static_cast<int>(r->reasonCode) < 0x80;
  static_cast<std::shared_ptr<Pending>*>(ctx)->get()->finish(good ? 1 : -1);
  delete static_cast<std::shared_ptr<Pending>*>(ctx);
}
void fail5(void* ctx, MQTTAsync_failureData5*) {
  static_cast<std::shared_ptr<Pending>*>(ctx)->get()->finish(-1);
  delete static_cast<std::shared_ptr<Pending>*>(ctx);
}
void ok3(void* ctx, MQTTAsync_successData*) {
  static_cast<std::shared_ptr<Pending>*>(ctx)->get()->finish(1);
  delete static_cast<std::shared_ptr<Pending>*>(ctx);
}
void fail3(void* ctx, MQTTAsync_failureData*) {
  static_cast<std::shared_ptr<Pending>*>(ctx)->get()->finish(-1);
  delete static_cast<std::shared_ptr<Pending>*>(ctx);
}

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

bool unsubscribeSource(const sources::MqttSource& source, std::chrono::milliseconds timeout) {
  const sources::Client& c = source.client();
  MQTTAsync h = c.handle();
  if (h == nullptr || !c.connected()) {
    return false;
  }
  auto pending = std::make_shared<Pending>();
  auto* ctx = new std::shared_ptr<Pending>(pending);  // owned by whichever callback runs
  MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
  ro.context = ctx;
  if (c.v5()) {
    ro.onSuccess5 = ok5;
    ro.onFailure5 = fail5;
  } else {
    ro.onSuccess = ok3;
    ro.onFailure = fail3;
  }
  if (MQTTAsync_unsubscribe(h, source.subscription().c_str(), &ro) != MQTTASYNC_SUCCESS) {
    delete ctx;
    return false;
  }
  std::unique_lock<std::mutex> lock(pending->mu);
  pending->cv.wait_for(lock, timeout, [&] { return pending->state != 0; });
  // On timeout the callback may still run later: it owns ctx, and Pending is shared.
  return pending->state == 1;
}

void dropStaleSubscription(const sources::MqttSource& source,
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
