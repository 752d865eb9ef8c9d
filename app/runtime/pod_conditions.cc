#include "app/runtime/pod_conditions.h"

#include <algorithm>
#include <chrono>

#include "common/log.h"
#include "config/kube/source.h"

namespace mqb::app {
namespace {

const config::BrokerConnection* brokerOf(const config::BridgeConfig& cfg,
                                         const std::string& connector, const std::string& side) {
  for (const auto& c : cfg.connectors) {
    if (c.name == connector) {
      return side == "remote" ? &c.remote : &c.local;
    }
  }
  return nullptr;
}

/// "connector kc: 0 of 3 clients connected to 127.0.0.1:1883, last failure: ...".
std::string describe(const metrics::SideConnectivity& s, const config::BridgeConfig& cfg) {
  std::string text = "connector ";
  text.append(s.connector)
      .append(": ")
      .append(std::to_string(s.connected))
      .append(" of ")
      .append(std::to_string(s.clients))
      .append(" clients connected");
  if (const auto* b = brokerOf(cfg, s.connector, s.side); b != nullptr) {
    text.append(" to ").append(b->endpoint);
    if (!b->fallbackEndpoints.empty()) {
      text.append(" (or a failover endpoint)");
    }
  }
  if (s.connected < s.clients && !s.failure.empty()) {
    text.append(", last failure: ").append(s.failure);
  }
  return text;
}

std::vector<PodCondition>::const_iterator find(const std::vector<PodCondition>& v,
                                               const std::string& type) {
  return std::find_if(v.begin(), v.end(), [&](const PodCondition& c) { return c.type == type; });
}

}  // namespace

std::vector<PodCondition> brokerConditions(const std::vector<metrics::SideConnectivity>& sides,
                                           const config::BridgeConfig& cfg) {
  std::vector<PodCondition> out;
  for (const std::string side : {"remote", "local"}) {
    int clients = 0;
    bool failing = false, connecting = false;
    std::string failed, connected;
    for (const auto& s : sides) {
      if (s.side != side || s.clients == 0) {
        continue;
      }
      clients += s.clients;
      std::string& into = s.connected == s.clients ? connected : failed;
      if (s.connected < s.clients) {
        (s.failure.empty() ? connecting : failing) = true;
      }
      into.append(into.empty() ? "" : "; ").append(describe(s, cfg));
    }
    const std::string type = side == "remote" ? config::kube::kRemoteConnectedCondition
                                              : config::kube::kLocalConnectedCondition;
    if (clients == 0) {
      out.push_back({type, "Unknown", "NoClients",
                     "this instance runs no client of the " + side + " broker", ""});
    } else if (failing) {
      out.push_back({type, "False", "Unreachable", failed, ""});
    } else if (!connecting) {
      out.push_back({type, "True", "Connected", connected, ""});
    }
  }
  return out;
}

PodConditionReporter::PodConditionReporter(config::kube::Options api, std::string pod)
    : api_(std::move(api)), pod_(std::move(pod)), thread_([this] { run(); }) {}

PodConditionReporter::~PodConditionReporter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void PodConditionReporter::update(std::vector<PodCondition> conditions) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& c : conditions) {
      auto it = std::find_if(wanted_.begin(), wanted_.end(),
                             [&](const PodCondition& w) { return w.type == c.type; });
      if (it == wanted_.end()) {
        wanted_.push_back(std::move(c));
      } else {
        *it = std::move(c);
      }
    }
    if (pending().empty()) {
      return;
    }
  }
  cv_.notify_all();
}

std::vector<PodCondition> PodConditionReporter::pending() const {
  std::vector<PodCondition> out;
  for (const auto& w : wanted_) {
    const auto done = find(written_, w.type);
    if (done == written_.end() || done->status != w.status || done->reason != w.reason) {
      out.push_back(w);
    }
  }
  return out;
}

void PodConditionReporter::run() {
  auto backoff = std::chrono::seconds(2);
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !pending().empty(); });
    if (stop_) {
      return;
    }
    std::vector<PodCondition> todo = pending();
    const std::string now = config::kube::isoNow();
    for (auto& c : todo) {
      const auto before = find(written_, c.type);
      c.lastTransitionTime =
          before != written_.end() && before->status == c.status ? before->lastTransitionTime : now;
    }
    lock.unlock();
    const bool ok = write(todo);
    lock.lock();
    if (ok) {
      backoff = std::chrono::seconds(2);
      for (auto& c : todo) {
        const auto before = std::find_if(written_.begin(), written_.end(),
                                         [&](const PodCondition& w) { return w.type == c.type; });
        if (before == written_.end()) {
          written_.push_back(std::move(c));
        } else {
          *before = std::move(c);
        }
      }
      continue;
    }
    cv_.wait_for(lock, backoff, [&] { return stop_; });
    backoff = std::min<std::chrono::seconds>(backoff * 2, std::chrono::seconds(60));
  }
}

bool PodConditionReporter::write(const std::vector<PodCondition>& conditions) {
  std::string error;
  if (!connected_) {
    if (auto connected = api_.connect(); !connected) {
      error = connected.error();
    } else if (api_.defaultNamespace().empty()) {
      error = "no namespace: give --kube-namespace or set MQBRIDGE_NAMESPACE";
    } else {
      connected_ = true;
    }
  }
  if (error.empty()) {
    config::kube::Json list = config::kube::Json::array();
    for (const auto& c : conditions) {
      list.push_back({{"type", c.type},
                      {"status", c.status},
                      {"reason", c.reason},
                      {"message", c.message.substr(0, 2000)},
                      {"lastTransitionTime", c.lastTransitionTime}});
    }
    const auto path =
        config::kube::Client::path("v1", api_.defaultNamespace(), "pods", pod_, "status");
    const auto r = api_.strategicMergePatch(path, {{"status", {{"conditions", list}}}}, 5);
    if (r.ok()) {
      for (const auto& c : conditions) {
        log::info("pod_condition", {{"pod", pod_},
                                    {"type", c.type},
                                    {"status", c.status},
                                    {"reason", c.reason},
                                    {"message", c.message}});
      }
      lastError_.clear();
      return true;
    }
    error = r.describe();
  }
  if (error != lastError_) {
    log::warn("pod_condition_failed",
              {{"pod", pod_}, {"detail", error}, {"action", "retried with backoff"}});
    lastError_ = error;
  }
  return false;
}

}  // namespace mqb::app
