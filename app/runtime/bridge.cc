#include "app/runtime/bridge.h"

#include <signal.h>

#include <iostream>
#include <set>

#include "app/runtime/deadletter_publisher.h"
#include "app/runtime/instance.h"
#include "app/runtime/session.h"
#include "app/version.h"
#include "common/log.h"
#include "config/plan.h"

namespace mqb::app {

Bridge::Bridge(RunOptions options) : options_(std::move(options)), source_(options_) {}

Bridge::~Bridge() {
  for (auto& [key, r] : routes_) {
    stopRoute(*r, std::chrono::milliseconds(0));
  }
  routes_.clear();
  status_.clear();
}

int Bridge::instanceFor(const config::ConnectorSpec& c) const {
  return instanceIndex_ < c.bridgeInstances ? instanceIndex_ : -1;
}

std::chrono::milliseconds Bridge::drain() const {
  return std::chrono::milliseconds(static_cast<long>(options_.drainSeconds * 1000));
}

deadletter::RouteLetters::Notify Bridge::deadLetterNotify(const config::ConnectorSpec& c) {
  if (c.deadLetterTopic.empty() || instanceFor(c) < 0) {
    return nullptr;
  }
  // One publisher per connector and local broker, shared by its routes (each holds a reference,
  // so a reload that changes it leaves the old one to the routes still running on it).
  const std::string key = c.name + "|" + c.deadLetterTopic + "|" + c.local.endpoint;
  std::shared_ptr<DeadLetterPublisher>& p = deadLetterPublishers_[key];
  if (!p) {
    p = std::make_shared<DeadLetterPublisher>(c, instanceIndex_);
  }
  return [p](const deadletter::Record& r) { p->publish(r); };
}

void Bridge::apply(const config::BridgeConfig& cfg) {
  // What this instance serves: per route, the indices of its clients assigned here.
  struct Wanted {
    const config::ConnectorSpec* connector = nullptr;
    const config::RouteSpec* route = nullptr;
    std::vector<int> clients;
  };
  std::map<std::string, Wanted> wanted;
  const config::Plan plan = config::Plan::build(cfg);
  const auto nextSubscriptions = planSubscriptions(plan);
  for (const auto& cp : plan.connectors()) {
    const int inst = instanceFor(*cp.connector);
    for (const auto& rp : cp.routes) {
      for (const auto& cl : rp.clients) {
        if (inst >= 0 && cl.instance == inst) {
          Wanted& w = wanted[cp.connector->name + "/" + rp.route->name];
          w.connector = cp.connector;
          w.route = rp.route;
          w.clients.push_back(cl.index);
        }
      }
    }
  }
  // Routes leaving this instance (removed, or moved by a change of bridgeInstances) first empty
  // their spools: the spool stays here while their clients continue elsewhere.
  std::vector<RunningRoute*> leaving;
  for (auto& [key, r] : routes_) {
    if (wanted.count(key) == 0) {
      leaving.push_back(r.get());
    }
  }
  if (!leaving.empty() && !drainSpools(leaving, std::chrono::steady_clock::now() + drain())) {
    log::warn("spool_not_drained", {{"routes", leaving.size()},
                                    {"action",
                                     "left in this instance's spool until it serves "
                                     "the route again"}});
  }
  // Stop the routes that went away or changed; the untouched ones keep running.
  for (auto it = routes_.begin(); it != routes_.end();) {
    const auto w = wanted.find(it->first);
    if (w != wanted.end() && routeKeyFingerprint(*w->second.connector, *w->second.route,
                                                 w->second.clients) == it->second->fingerprint) {
      ++it;
      continue;
    }
    for (auto& s : it->second->sources) {
      dropStaleSubscription(*s, nextSubscriptions);  // else the session keeps the old filter
    }
    stopRoute(*it->second, drain());
    const std::string connector = it->second->connector->name;
    const std::string route = it->second->route->name;
    it = routes_.erase(it);
    metrics_->unbindRoute(connector, route);
  }
  std::vector<std::string> failed;
  for (const auto& [key, w] : wanted) {
    if (routes_.count(key) != 0) {
      continue;
    }
    const RouteEnv env{options_.stateDir, metrics_.get(), deadLetterNotify(*w.connector)};
    if (auto rr = buildRoute(env, *w.connector, *w.route, w.clients)) {
      routes_.emplace(key, std::move(rr));
    } else {
      failed.push_back(key);
    }
  }
  {
    std::lock_guard<std::mutex> lock(failedMutex_);
    failedRoutes_ = std::move(failed);
  }
  status_.apply(cfg, instanceIndex_);
}

int Bridge::setUp(config::BridgeConfig& cfg) {
  if (auto started = source_.start(); !started) {
    std::cerr << "mqbridge run --kube: " << started.error() << '\n';
    return 1;
  }
  auto loaded = source_.load(/*initial=*/true);
  if (!loaded) {
    return 1;
  }
  cfg = std::move(*loaded);
  // Log level: --log-level, else the most verbose logLevel of the connectors.
  log::Level level = cfg.connectors.empty() ? log::Level::Info : log::Level::Error;
  for (const auto& c : cfg.connectors) {
    level = std::min(level, static_cast<log::Level>(static_cast<int>(c.logLevel)));
  }
  if (options_.logLevel && !log::parseLevel(*options_.logLevel, level)) {
    std::cerr << "mqbridge run: --log-level must be debug, info, warn or error\n";
    return 2;
  }
  log::setLevel(level);
  log::setJson(options_.logJson);
  const auto instance = chooseInstance(options_, cfg);
  if (!instance) {
    std::cerr << "mqbridge run: " << instance.error() << '\n';
    return 2;
  }
  instanceIndex_ = instance->index;
  metrics_ = std::make_unique<metrics::Metrics>(kVersion, kGitRevision);
  try {
    metrics::HttpServerOptions ho;
    ho.address = options_.metricsAddress;
    http_ = std::make_unique<metrics::HttpServer>(ho, metrics_->registry());
    http_->setHealthCheck([this] { return watchdog_.check(); });
  } catch (const std::exception& e) {
    std::cerr << "mqbridge run: " << e.what() << '\n';
    return 1;
  }
  if (kubeModeWanted(options_) && !options_.podName.empty()) {
    podConditions_ = std::make_unique<PodConditionReporter>(options_.kubeOptions, options_.podName);
  }
  log::info("starting", {{"version", kVersion},
                         {"revision", kGitRevision},
                         {"instance", instanceIndex_},
                         {"instance_from", instance->source},
                         {"metrics", "http://" + options_.metricsAddress + "/metrics"},
                         {"metrics_port", http_->port()}});
  return 0;
}

void Bridge::mainLoop(config::BridgeConfig& cfg, const sigset_t& signals) {
  metrics::Watchdog::Heartbeat& heartbeat = watchdog_.add("main_loop", std::chrono::seconds(30));
  std::string stamp = source_.stamp();
  for (;;) {
    // Signals, and a look at the configuration every 2 s.
    timespec timeout{2, 0};
    heartbeat.beat();
    if (podConditions_) {
      podConditions_->update(brokerConditions(metrics_->connectivity(), cfg));
    }
    const int sig = sigtimedwait(&signals, nullptr, &timeout);
    if (sig == SIGINT || sig == SIGTERM) {
      log::info("stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"},
                             {"drain_seconds", options_.drainSeconds}});
      break;
    }
    std::string next = source_.stamp();
    if (sig != SIGHUP && next == stamp) {
      continue;
    }
    stamp = std::move(next);
    log::info("reloading", {{"trigger", sig == SIGHUP ? "SIGHUP" : "file change"}});
    auto loaded = source_.load(/*initial=*/false);
    if (!loaded) {
      metrics_->recordReload(false);
      continue;
    }
    cfg = std::move(*loaded);
    apply(cfg);
    metrics_->recordReload(true);
    log::info("reloaded", {{"routes", routes_.size()}});
  }
}

void Bridge::shutDown() {
  // Every route stops subscribing first and empties its spool into its target (this instance may
  // be leaving for good: a scale-down); what does not drain in time stays in the spool.
  const auto deadline = std::chrono::steady_clock::now() + drain();
  std::vector<RunningRoute*> all;
  for (auto& [key, r] : routes_) {
    all.push_back(r.get());
  }
  const bool spoolsEmpty = drainSpools(all, deadline);
  log::info("spools_drained", {{"complete", spoolsEmpty ? "true" : "false"}});
  for (auto& [key, r] : routes_) {
    for (auto& s : r->sources) {
      s->stopFeeding();  // every route stops taking messages first, then each drains
    }
  }
  const auto left = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 deadline - std::chrono::steady_clock::now()),
                             std::chrono::milliseconds(500));
  for (auto& [key, r] : routes_) {
    stopRoute(*r, left);
  }
  routes_.clear();
  status_.clear();
  log::info("stopped", {});
}

int Bridge::run() {
  // Block the signals we wait for in every thread (threads created later inherit the mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  config::BridgeConfig cfg;
  if (const int rc = setUp(cfg); rc != 0) {
    return rc;
  }
  // /readyz stays 503 "starting" until the routes are built: with no client bound yet the
  // readiness below would report ready.
  apply(cfg);
  metrics_->recordReload(true);
  http_->setReadinessCheck([this] {
    metrics::Readiness r = metrics_->readiness(/*allowEmpty=*/true);
    std::lock_guard<std::mutex> lock(failedMutex_);
    for (const auto& f : failedRoutes_) {
      r.notReady.push_back("route " + f + " failed to build (see the log)");
    }
    return r;
  });
  mainLoop(cfg, signals);
  shutDown();
  return 0;
}

}  // namespace mqb::app
