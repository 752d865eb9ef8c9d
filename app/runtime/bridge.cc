#include "app/app_bridge.h"

#include "app/app_client_options.h"
#include "app/app_deadletter.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>
#include <system_error>

#include "app/app_config.h"
#include "app/app_kube.h"
#include "app/app_session.h"
#include "app/version.h"
#include "common/log.h"
#include "config/plan.h"
#include "metrics/http_server.h"
#include "mqtt/client.h"
#include "pipeline/registry.h"

namespace mqb::app {
namespace {

namespace fs = std::filesystem;

/// Stands in for the sink of a branch that another instance serves: no source feeds it.
class UnassignedSink final : public pipeline::Sink {
 public:
  void setRelease(pipeline::ReleaseFn release) override { release_ = std::move(release); }
  void write(pipeline::Batch&& batch) noexcept override {
    for (auto& m : batch) {
      m.completion.settle(pipeline::Outcome::Dropped);
    }
    if (release_) {
      release_(batch.size());
    }
  }

 private:
  pipeline::ReleaseFn release_;
};

std::string_view directionLabel(config::Direction d) {
  return d == config::Direction::LocalToRemote ? metrics::kLocalToRemote : metrics::kRemoteToLocal;
}

const char* sideName(bool remote) { return remote ? "remote" : "local"; }

void appendRate(std::ostringstream& os, const std::optional<config::RateLimitSpec>& r) {
  if (!r) {
    os << "-";
    return;
  }
  os << r->messagesPerSecond << ',' << r->bytesPerSecond << ',' << r->burstMessages << ','
     << r->burstBytes;
}

void appendBroker(std::ostringstream& os, const config::BrokerConnection& b) {
  os << b.endpoint << '|' << static_cast<int>(b.transport) << '|' << b.tls.enabled << '|'
     << b.tls.trustedCaCertificateConfigMap << '|';
  for (const auto& f : b.tls.caFiles) {
    os << f << ',';
  }
  os << '|' << static_cast<int>(b.auth.kind) << '|' << b.auth.audience << '|' << b.auth.secretName
     << '|' << b.auth.tokenFile << '|' << b.auth.arcKeyDir << '|' << b.maxPacketSize << ';';
}

/// The route's spool settings: the route's fields over the connector's over the defaults.
struct SpoolSettings {
  std::uint64_t maxBytes = std::uint64_t{1} << 30;
  std::uint64_t maxMessages = 0;
  config::SpoolSpec::Overflow overflow = config::SpoolSpec::Overflow::Block;
  config::SpoolSpec::Fsync fsync = config::SpoolSpec::Fsync::Interval;
  std::int64_t fsyncIntervalMs = 100;
};

SpoolSettings spoolSettings(const config::ConnectorSpec& c, const config::RouteSpec& r) {
  SpoolSettings s;
  for (const auto* sp : {c.spool ? &*c.spool : nullptr, r.spool ? &*r.spool : nullptr}) {
    if (sp == nullptr) {
      continue;
    }
    s.maxBytes = sp->maxBytes.value_or(s.maxBytes);
    s.maxMessages = sp->maxMessages.value_or(s.maxMessages);
    s.overflow = sp->overflow.value_or(s.overflow);
    s.fsync = sp->fsync.value_or(s.fsync);
    s.fsyncIntervalMs = sp->fsyncIntervalMs.value_or(s.fsyncIntervalMs);
  }
  return s;
}

void appendSpool(std::ostringstream& os, const SpoolSettings& s) {
  os << "spool:" << s.maxBytes << ',' << s.maxMessages << ',' << static_cast<int>(s.overflow) << ','
     << static_cast<int>(s.fsync) << ',' << s.fsyncIntervalMs;
}

std::string clientList(const std::vector<int>& clients) {
  std::string s = "\nclients:";
  for (int c : clients) {
    s += std::to_string(c) + ",";
  }
  return s;
}

}  // namespace

int ordinalOfHostname(const std::string& hostname) {
  const auto dash = hostname.rfind('-');
  if (dash == std::string::npos || dash + 1 == hostname.size()) {
    return -1;
  }
  int v = 0;
  for (std::size_t i = dash + 1; i < hostname.size(); ++i) {
    const char ch = hostname[i];
    if (ch < '0' || ch > '9' || v > 100000) {
      return -1;
    }
    v = v * 10 + (ch - '0');
  }
  return v;
}

std::string routeFingerprint(const config::ConnectorSpec& c, const config::RouteSpec& r) {
  std::ostringstream os;
  os << "connector:" << c.name << '|' << static_cast<int>(c.protocol) << '|' << c.clientIdPrefix
     << '|' << c.hopMarker << '|' << c.keepAliveSeconds << '|' << c.sessionExpirySeconds << '|'
     << c.bridgeInstances << '|' << c.deadLetterTopic << '|';
  appendRate(os, c.rateLimit);
  os << "\nremote:";
  appendBroker(os, c.remote);
  os << "\nlocal:";
  appendBroker(os, c.local);
  os << "\nroute:" << r.name << '|' << static_cast<int>(r.direction) << '|' << r.qos << '|'
     << r.source << '|' << (r.target ? "=" + *r.target : std::string("-")) << '|'
     << static_cast<int>(r.retain) << '|' << (r.ttlSeconds ? std::to_string(*r.ttlSeconds) : "-")
     << '|';
  if (r.sharedSubscription) {
    os << r.sharedSubscription->groupName << '/' << r.sharedSubscription->groupMinimumShareNumber;
  }
  os << '|';
  appendRate(os, r.rateLimit);
  os << '|';
  appendSpool(os, spoolSettings(c, r));
  for (const auto& s : r.stages) {
    YAML::Emitter e;
    e << YAML::Flow << s.params;
    os << "\nstage:" << e.c_str();
  }
  return os.str();
}

/// The status topic of one instance: statusTopic, or statusTopic/<instance> when the connector
/// runs several instances (each has its own retained state and will).
std::string statusTopicFor(const config::ConnectorSpec& c, int instance) {
  return c.bridgeInstances > 1 ? c.statusTopic + "/" + std::to_string(instance) : c.statusTopic;
}

/// Publishes "online" (retained) on the connector's status topic on the local broker when
/// connected; the broker publishes the will, "offline" (retained), when the bridge vanishes; a
/// clean stop publishes "offline" itself.
class StatusPublisher final : private mqtt::ClientListener {
 public:
  StatusPublisher(const config::ConnectorSpec& c, int instance)
      : topic_(statusTopicFor(c, instance)), client_(makeOptions(c, instance), this) {}
  ~StatusPublisher() override { stop(); }
  StatusPublisher(const StatusPublisher&) = delete;
  StatusPublisher& operator=(const StatusPublisher&) = delete;

  void start() { client_.start(); }
  void stop() {
    if (stopped_) {
      return;
    }
    stopped_ = true;
    if (client_.connected()) {
      publish("offline");
    }
    client_.stop(std::chrono::milliseconds(2000));
  }
  const std::string& topic() const { return topic_; }

 private:
  static mqtt::ClientOptions makeOptions(const config::ConnectorSpec& c, int instance) {
    mqtt::ClientOptions o =
        clientOptions(c, c.local, config::statusClientId(c, instance), c.name + "/status/local");
    o.persistentSession = false;
    o.will.topic = statusTopicFor(c, instance);
    o.will.payload = "offline";
    o.will.retain = true;
    o.will.qos = 1;
    return o;
  }
  void onConnected(const mqtt::ConnectInfo&) noexcept override { publish("online"); }
  void onConnectionLost(const mqtt::Failure&) noexcept override {}
  void publish(std::string_view payload) noexcept {
    mqtt::Client::Publish p;
    p.topic = topic_;
    p.payload = payload;
    p.qos = 1;
    p.retain = true;
    client_.publish(p, 0);  // the answer is not needed: a lost "online" is sent on reconnect
  }

  std::string topic_;
  mqtt::Client client_;
  bool stopped_ = false;
};

Bridge::Bridge(RunOptions options) : options_(std::move(options)) {}

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

std::string Bridge::configStamp() const {
  if (kube_) {
    return kube_->stamp();  // changes with every watch event
  }
  // Names, sizes and modification times of every configuration file: a change triggers a reload.
  std::ostringstream os;
  for (const auto& p : options_.config.configPaths) {
    std::error_code ec;
    std::vector<fs::path> files;
    if (fs::is_directory(p, ec)) {
      for (const auto& e : fs::directory_iterator(p, ec)) {
        files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
    } else {
      files.emplace_back(p);
    }
    for (const auto& f : files) {
      const auto t = fs::last_write_time(f, ec);
      const auto size = ec ? 0 : fs::file_size(f, ec);
      os << f.string() << ':' << size << ':' << (ec ? 0 : t.time_since_epoch().count()) << '\n';
    }
  }
  return os.str();
}

bool Bridge::load(config::BridgeConfig& out, bool initial) {
  config::Diagnostics diag;
  auto cfg = kube_ ? std::optional(kube_->load(options_.config, diag))
                   : loadConfig(options_.config, /*checkFiles=*/true, diag);
  for (const auto& d : diag.sorted()) {
    const std::string text = config::format(d);
    if (d.severity == config::Severity::Error) {
      log::error("config_error", {{"detail", text}});
    } else {
      log::warn("config_warning", {{"detail", text}});
    }
  }
  if (!cfg) {
    if (initial) {
      diag.print(std::cerr);
    }
    log::error(initial ? "config_invalid" : "reload_rejected",
               {{"errors", diag.errorCount()},
                {"action", initial ? "exit" : "keeping the running configuration"}});
    return false;
  }
  out = std::move(*cfg);
  return true;
}

std::unique_ptr<RunningRoute> Bridge::buildRoute(const config::ConnectorSpec& c,
                                                 const config::RouteSpec& r,
                                                 const std::vector<int>& clientIndices) {
  auto rr = std::make_unique<RunningRoute>();
  rr->key = c.name + "/" + r.name;
  rr->fingerprint = routeFingerprint(c, r) + clientList(clientIndices);
  rr->connector = std::make_unique<config::ConnectorSpec>(c);
  rr->route = std::make_unique<config::RouteSpec>(r);
  const config::ConnectorSpec& cs = *rr->connector;
  const config::RouteSpec& rs = *rr->route;

  const bool toRemote = rs.direction == config::Direction::LocalToRemote;
  const config::BrokerConnection& sourceBroker = toRemote ? cs.local : cs.remote;
  const config::BrokerConnection& targetBroker = toRemote ? cs.remote : cs.local;
  const std::string_view dir = directionLabel(rs.direction);
  const std::set<int> assigned(clientIndices.begin(), clientIndices.end());

  config::Diagnostics diag;
  pipeline::RouteGraphSpec spec;
  spec.connector = &cs;
  spec.route = &rs;
  spec.registry = &pipeline::Registry::builtin();
  spec.stages = pipeline::Registry::builtin().parseStages(rs, diag);
  const int n = rs.clientCount();
  std::vector<metrics::ClientMetrics*> subMetrics(static_cast<std::size_t>(n), nullptr);
  // One dead-letter store per route, shared by its branches' subscribers and publishers.
  std::shared_ptr<deadletter::RouteLetters> letters;
  {
    std::string error;
    const std::string dlDir = deadletter::directoryFor(options_.stateDir, cs.name, rs.name);
    auto store = deadletter::Store::open(dlDir, deadletter::Limits{}, error);
    if (!store) {
      log::error("deadletter_open_failed", {{"route", rr->key}, {"dir", dlDir}, {"error", error}});
      return nullptr;
    }
    letters = std::make_shared<deadletter::RouteLetters>(
        std::shared_ptr<deadletter::Store>(std::move(store)), cs.name, rs.name,
        toRemote ? "local-to-remote" : "remote-to-local", deadLetterNotify(cs));
  }
  for (int b = 0; b < n; ++b) {
    const std::string branch = std::to_string(b);
    metrics::RouteMetrics& routeMetrics = metrics_->bindRoute(cs.name, rs.name, dir, branch);
    spec.metrics.push_back(routeMetrics);
    if (assigned.count(b) == 0) {
      spec.sinks.push_back(std::make_unique<UnassignedSink>());
      rr->sinks.push_back(nullptr);
      continue;
    }
    const std::string id = config::clientId(cs, rs, b);
    auto& pubMetrics =
        metrics_->bindClient(cs.name, rs.name, dir, sideName(toRemote), "pub-" + branch, false);
    subMetrics[static_cast<std::size_t>(b)] =
        &metrics_->bindClient(cs.name, rs.name, dir, sideName(!toRemote), "sub-" + branch, true);
    mqtt::ClientOptions co =
        clientOptions(cs, targetBroker, id, rr->key + "/" + sideName(toRemote) + "/pub-" + branch);
    co.persistentSession = false;
    sinks::SinkOptions so;
    so.retain = rs.retain;
    so.hopMarkerKey = cs.hopMarker;
    so.hopMarkerValue = cs.protocol == config::MqttVersion::V5 ? cs.name : "";
    so.deadLetters = letters;
    auto sink =
        std::make_unique<sinks::MqttSink>(std::move(co), std::move(so), &routeMetrics, &pubMetrics);
    rr->sinks.push_back(sink.get());
    spec.sinks.push_back(std::move(sink));
  }
  rr->graph = pipeline::RouteGraph::build(std::move(spec), diag);
  if (!rr->graph) {
    log::error("route_build_failed", {{"route", rr->key}, {"detail", diag.str()}});
    return nullptr;
  }
  const SpoolSettings spoolCfg = spoolSettings(cs, rs);
  for (int b : clientIndices) {
    sources::SourceOptions so;
    metrics::RouteMetrics* branchMetrics =
        &metrics_->bindRoute(cs.name, rs.name, dir, std::to_string(b));
    if (rs.qos >= 1) {
      // At-least-once: the branch's messages go through its durable spool (see MqttSource).
      spool::Options sp;
      sp.dir = spool::spoolDir(options_.stateDir, cs.name, rs.name,
                                         static_cast<std::uint32_t>(b));
      sp.flush = spoolCfg.fsync == config::SpoolSpec::Fsync::Always
                     ? spool::FlushPolicy::Always
                 : spoolCfg.fsync == config::SpoolSpec::Fsync::Never
                     ? spool::FlushPolicy::Never
                     : spool::FlushPolicy::Interval;
      sp.flushInterval = std::chrono::milliseconds(spoolCfg.fsyncIntervalMs);
      if (spoolCfg.overflow == config::SpoolSpec::Overflow::Block) {
        // The spool takes everything the subscriber delivers (the client acknowledges it right
        // after); the source pauses its subscriber at the limits instead.
        so.pauseBytes = spoolCfg.maxBytes;
        so.pauseMessages = spoolCfg.maxMessages;
      } else {
        sp.maxBytes = spoolCfg.maxBytes;
        sp.maxMessages = spoolCfg.maxMessages;
        sp.overflow = spoolCfg.overflow == config::SpoolSpec::Overflow::DropOldest
                          ? spool::OverflowPolicy::DropOldest
                          : spool::OverflowPolicy::DropNewest;
      }
      if (rs.ttlSeconds && *rs.ttlSeconds > 0) {
        sp.ttl = std::chrono::milliseconds(static_cast<std::int64_t>(*rs.ttlSeconds * 1000));
      }
      sp.onDrop = [branchMetrics](metrics::DropReason reason, std::uint64_t count) {
        branchMetrics->drop(reason, static_cast<double>(count));
      };
      if (branchMetrics->spoolCapacityBytes) {
        branchMetrics->spoolCapacityBytes->Set(static_cast<double>(spoolCfg.maxBytes));
      }
      std::string error;
      const std::string spoolPath = sp.dir;
      auto spool = spool::Spool::open(std::move(sp), error);
      if (!spool) {
        log::error("spool_open_failed", {{"route", rr->key}, {"dir", spoolPath}, {"error", error}});
        return nullptr;
      }
      so.spool = std::move(spool);
    }
    so.filter = rs.source;
    so.shareGroup = rs.sharedSubscription ? rs.sharedSubscription->groupName : "";
    so.qos = rs.qos;
    so.branch = static_cast<std::size_t>(b);
    so.hopMarkerKey = cs.hopMarker;
    so.hopMarkerValue = cs.protocol == config::MqttVersion::V5 ? cs.name : "";
    so.deadLetters = letters;
    const std::string branch = std::to_string(b);
    mqtt::ClientOptions co = clientOptions(cs, sourceBroker, config::clientId(cs, rs, b),
                                           rr->key + "/" + sideName(!toRemote) + "/sub-" + branch);
    co.persistentSession = true;
    rr->sources.push_back(std::make_unique<sources::MqttSource>(
        std::move(co), std::move(so), *rr->graph, branchMetrics,
        subMetrics[static_cast<std::size_t>(b)]));
  }
  rr->graph->start();
  for (auto& s : rr->sources) {
    s->start();
  }
  log::info("route_started", {{"route", rr->key},
                              {"direction", std::string(dir)},
                              {"source", rs.source},
                              {"target", rs.target.value_or("(source topic)")},
                              {"clients", clientIndices.size()},
                              {"of", n}});
  return rr;
}

void Bridge::stopRoute(RunningRoute& r, std::chrono::milliseconds drain) {
  for (auto& s : r.sources) {
    // No new messages (the broker keeps the persistent session's queue); what was spooled and
    // not pushed stays in the spool for the next run.
    s->stopFeeding();
  }
  if (r.graph) {
    // Messages in flight get `drain` to be delivered; their spool records are acked as they are.
    const bool clean = r.graph->stop(drain);
    log::info("route_stopped", {{"route", r.key}, {"drained", clean ? "true" : "false"}});
    r.graph.reset();  // settles anything left before the sources (the trackers) go
    r.sinks.clear();
  }
  for (auto& s : r.sources) {
    s->stop();
  }
  r.sources.clear();  // closes the spools (acks written back)
}

void Bridge::applyStatusPublishers(const config::BridgeConfig& cfg) {
  std::map<std::string, std::unique_ptr<StatusPublisher>> next;
  for (const auto& c : cfg.connectors) {
    if (c.statusTopic.empty() || instanceFor(c) < 0) {
      continue;
    }
    auto it = status_.find(c.name);
    if (it != status_.end() && it->second->topic() == statusTopicFor(c, instanceIndex_)) {
      next.emplace(c.name, std::move(it->second));
      status_.erase(it);
      continue;
    }
    auto sp = std::make_unique<StatusPublisher>(c, instanceIndex_);
    sp->start();
    next.emplace(c.name, std::move(sp));
  }
  status_ = std::move(next);  // the ones left in status_ were removed: their destructors stop them
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
  // Stop the routes that went away or changed; the untouched ones keep running.
  const auto drain = std::chrono::milliseconds(static_cast<long>(options_.drainSeconds * 1000));
  for (auto it = routes_.begin(); it != routes_.end();) {
    const auto w = wanted.find(it->first);
    if (w != wanted.end() &&
        routeFingerprint(*w->second.connector, *w->second.route) + clientList(w->second.clients) ==
            it->second->fingerprint) {
      ++it;
      continue;
    }
    for (auto& s : it->second->sources) {
      dropStaleSubscription(*s, nextSubscriptions);  // else the session keeps the old filter
    }
    stopRoute(*it->second, drain);
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
    if (auto rr = buildRoute(*w.connector, *w.route, w.clients)) {
      routes_.emplace(key, std::move(rr));
    } else {
      failed.push_back(key);
    }
  }
  {
    std::lock_guard<std::mutex> lock(failedMutex_);
    failedRoutes_ = std::move(failed);
  }
  applyStatusPublishers(cfg);
}

int Bridge::run() {
  // Block the signals we wait for in every thread (threads created below inherit the mask).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  config::BridgeConfig cfg;
  if (kubeModeWanted(options_)) {
    // A watch event raises SIGHUP: the main loop below reloads at once.
    kube_ = std::make_unique<KubeConfigSource>(options_.kubeOptions,
                                               [] { ::kill(::getpid(), SIGHUP); });
    std::string error;
    if (!kube_->start(error)) {
      std::cerr << "mqbridge run --kube: " << error << '\n';
      return 1;
    }
  }
  stamp_ = configStamp();
  if (!load(cfg, true)) {
    return 1;
  }
  // Log level: --log-level, else the most verbose logLevel of the connectors.
  log::Level level = log::Level::Error;
  for (const auto& c : cfg.connectors) {
    level = std::min(level, static_cast<log::Level>(static_cast<int>(c.logLevel)));
  }
  if (cfg.connectors.empty()) {
    level = log::Level::Info;
  }
  if (options_.logLevel) {
    if (!log::parseLevel(*options_.logLevel, level)) {
      std::cerr << "mqbridge run: --log-level must be debug, info, warn or error\n";
      return 2;
    }
  }
  log::setLevel(level);
  log::setJson(options_.logJson);

  // Which instance this process is.
  if (options_.instanceIndex) {
    instanceIndex_ = *options_.instanceIndex;
    instanceSource_ = "--instance-index";
  } else if (const char* env = std::getenv("MQBRIDGE_INSTANCE_INDEX"); env && *env) {
    instanceIndex_ = std::atoi(env);
    instanceSource_ = "MQBRIDGE_INSTANCE_INDEX";
  } else {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    int maxInstances = 1;
    for (const auto& c : cfg.connectors) {
      maxInstances = std::max(maxInstances, c.bridgeInstances);
    }
    const int ord = ordinalOfHostname(host);
    if (maxInstances > 1 && ord >= 0 && ord < maxInstances) {
      instanceIndex_ = ord;
      instanceSource_ = std::string("hostname ") + host;
    } else {
      instanceSource_ = "default";
    }
  }
  if (instanceIndex_ < 0) {
    std::cerr << "mqbridge run: the instance index must be >= 0\n";
    return 2;
  }

  metrics_ = std::make_unique<metrics::Metrics>(kVersion, kGitRevision);
  std::unique_ptr<metrics::HttpServer> http;
  try {
    metrics::HttpServerOptions ho;
    ho.address = options_.metricsAddress;
    http = std::make_unique<metrics::HttpServer>(ho, metrics_->registry());
  } catch (const std::exception& e) {
    std::cerr << "mqbridge run: " << e.what() << '\n';
    return 1;
  }
  metrics::Watchdog watchdog;
  metrics::Watchdog::Heartbeat& heartbeat = watchdog.add("main_loop", std::chrono::seconds(30));
  http->setHealthCheck([&watchdog] { return watchdog.check(); });
  log::info("starting", {{"version", kVersion},
                         {"revision", kGitRevision},
                         {"instance", instanceIndex_},
                         {"instance_from", instanceSource_},
                         {"metrics", "http://" + options_.metricsAddress + "/metrics"},
                         {"metrics_port", http->port()}});
  // /readyz stays 503 "starting" until the routes are built: with no client bound yet the
  // readiness below would report ready.
  apply(cfg);
  metrics_->recordReload(true);
  http->setReadinessCheck([this] {
    metrics::Readiness r = metrics_->readiness(/*allowEmpty=*/true);
    std::lock_guard<std::mutex> lock(failedMutex_);
    for (const auto& f : failedRoutes_) {
      r.notReady.push_back("route " + f + " failed to build (see the log)");
    }
    return r;
  });

  // Main loop: signals, and a look at the configuration files every 2 s.
  int exitCode = 0;
  for (;;) {
    timespec timeout{2, 0};
    heartbeat.beat();
    const int sig = sigtimedwait(&set, nullptr, &timeout);
    if (sig == SIGINT || sig == SIGTERM) {
      log::info("stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"},
                             {"drain_seconds", options_.drainSeconds}});
      break;
    }
    std::string stamp = configStamp();
    if (sig != SIGHUP && stamp == stamp_) {
      continue;
    }
    stamp_ = std::move(stamp);
    log::info("reloading", {{"trigger", sig == SIGHUP ? "SIGHUP" : "file change"}});
    config::BridgeConfig next;
    if (!load(next, false)) {
      metrics_->recordReload(false);
      continue;
    }
    cfg = std::move(next);
    apply(cfg);
    metrics_->recordReload(true);
    log::info("reloaded", {{"routes", routes_.size()}});
  }
  const auto drain = std::chrono::milliseconds(static_cast<long>(options_.drainSeconds * 1000));
  for (auto& [key, r] : routes_) {
    for (auto& s : r->sources) {
      s->stopFeeding();  // every route stops taking messages first, then each drains
    }
  }
  for (auto& [key, r] : routes_) {
    stopRoute(*r, drain);
  }
  routes_.clear();
  status_.clear();
  log::info("stopped", {});
  return exitCode;
}

}  // namespace mqb::app
