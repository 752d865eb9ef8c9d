#include "app/runtime/route.h"

#include <set>
#include <thread>

#include "app/runtime/client_options.h"
#include "common/log.h"
#include "config/fingerprint.h"
#include "config/plan.h"
#include "config/spool.h"
#include "pipeline/registry.h"
#include "spool/spool.h"

namespace mqb::app {
namespace {

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

const char* sideName(bool remote) { return remote ? "remote" : "local"; }

std::string clientList(const std::vector<int>& clients) {
  std::string s = "\nclients:";
  for (int c : clients) {
    s += std::to_string(c) + ",";
  }
  return s;
}

/// What the steps of buildRoute share.
struct Build {
  const RouteEnv& env;
  RunningRoute& rr;
  const config::ConnectorSpec& cs;
  const config::RouteSpec& rs;
  bool toRemote;
  std::string_view dir;  ///< the metrics' direction label
  std::shared_ptr<deadletter::RouteLetters> letters;
  std::vector<metrics::ClientMetrics*> subMetrics;  ///< per branch, bound with the sinks
};

/// The route's dead-letter store, shared by its branches' subscribers and publishers.
std::shared_ptr<deadletter::RouteLetters> openDeadLetters(const Build& b) {
  const std::string dir = deadletter::directoryFor(b.env.stateDir, b.cs.name, b.rs.name);
  auto store = deadletter::Store::open(dir, deadletter::Limits{});
  if (!store) {
    log::error("deadletter_open_failed",
               {{"route", b.rr.key}, {"dir", dir}, {"error", store.error()}});
    return nullptr;
  }
  return std::make_shared<deadletter::RouteLetters>(
      std::shared_ptr<deadletter::Store>(*std::move(store)), b.cs.name, b.rs.name,
      b.toRemote ? "local-to-remote" : "remote-to-local", b.env.deadLetterNotify);
}

/// The publisher of branch `branch` (an assigned one).
std::unique_ptr<sinks::MqttSink> makeSink(Build& b, int branch,
                                          metrics::RouteMetrics& routeMetrics) {
  const std::string n = std::to_string(branch);
  auto& pubMetrics = b.env.metrics->bindClient(b.cs.name, b.rs.name, b.dir, sideName(b.toRemote),
                                               "pub-" + n, false);
  b.subMetrics[static_cast<std::size_t>(branch)] = &b.env.metrics->bindClient(
      b.cs.name, b.rs.name, b.dir, sideName(!b.toRemote), "sub-" + n, true);
  mqtt::ClientOptions co = clientOptions(b.cs, b.toRemote ? b.cs.remote : b.cs.local,
                                         config::clientId(b.cs, b.rs, branch),
                                         b.rr.key + "/" + sideName(b.toRemote) + "/pub-" + n);
  co.persistentSession = false;
  sinks::SinkOptions so;
  so.retain = b.rs.retain;
  so.hopMarkerKey = b.cs.hopMarker;
  so.hopMarkerValue = b.cs.protocol == config::MqttVersion::V5 ? b.cs.name : "";
  so.deadLetters = b.letters;
  return std::make_unique<sinks::MqttSink>(std::move(co), std::move(so), &routeMetrics,
                                           &pubMetrics);
}

/// The route graph: its stages and one sink per branch (a stand-in for the branches another
/// instance serves).
bool buildGraph(Build& b, const std::set<int>& assigned) {
  config::Diagnostics diag;
  pipeline::RouteGraphSpec spec;
  spec.route = &b.rs;
  spec.stages = pipeline::Registry::builtin().parseStages(config::stageChain(&b.cs, b.rs), diag);
  for (int branch = 0; branch < b.rs.clientCount(); ++branch) {
    metrics::RouteMetrics& routeMetrics =
        b.env.metrics->bindRoute(b.cs.name, b.rs.name, b.dir, std::to_string(branch));
    spec.metrics.push_back(routeMetrics);
    if (assigned.count(branch) == 0) {
      spec.sinks.push_back(std::make_unique<UnassignedSink>());
      b.rr.sinks.push_back(nullptr);
      continue;
    }
    auto sink = makeSink(b, branch, routeMetrics);
    b.rr.sinks.push_back(sink.get());
    spec.sinks.push_back(std::move(sink));
  }
  b.rr.graph = pipeline::RouteGraph::build(std::move(spec), diag);
  if (!b.rr.graph) {
    log::error("route_build_failed", {{"route", b.rr.key}, {"detail", diag.str()}});
    return false;
  }
  return true;
}

/// The durable spool of branch `branch` (QoS 1 routes), with the source's backpressure limits
/// for the block policy set in `so`. Null (logged) if it cannot be opened.
std::shared_ptr<spool::Spool> openSpool(const Build& b, int branch,
                                        metrics::RouteMetrics* branchMetrics,
                                        sources::SourceOptions& so) {
  const config::SpoolSettings cfg = config::effectiveSpool(b.cs, b.rs);
  spool::Options sp;
  sp.dir =
      spool::spoolDir(b.env.stateDir, b.cs.name, b.rs.name, static_cast<std::uint32_t>(branch));
  sp.flush = cfg.fsync == config::SpoolSpec::Fsync::Always  ? spool::FlushPolicy::Always
             : cfg.fsync == config::SpoolSpec::Fsync::Never ? spool::FlushPolicy::Never
                                                            : spool::FlushPolicy::Interval;
  sp.flushInterval = std::chrono::milliseconds(cfg.fsyncIntervalMs);
  if (cfg.overflow == config::SpoolSpec::Overflow::Block) {
    // The spool takes everything the subscriber delivers (the client acknowledges it right
    // after); the source pauses its subscriber at the limits instead.
    so.pauseBytes = cfg.maxBytes;
    so.pauseMessages = cfg.maxMessages;
  } else {
    sp.maxBytes = cfg.maxBytes;
    sp.maxMessages = cfg.maxMessages;
    sp.overflow = cfg.overflow == config::SpoolSpec::Overflow::DropOldest
                      ? spool::OverflowPolicy::DropOldest
                      : spool::OverflowPolicy::DropNewest;
  }
  if (b.rs.ttlSeconds && *b.rs.ttlSeconds > 0) {
    sp.ttl = std::chrono::milliseconds(static_cast<std::int64_t>(*b.rs.ttlSeconds * 1000));
  }
  sp.onDrop = [branchMetrics](metrics::DropReason reason, std::uint64_t count) {
    branchMetrics->drop(reason, static_cast<double>(count));
  };
  if (branchMetrics->spoolCapacityBytes) {
    branchMetrics->spoolCapacityBytes->Set(static_cast<double>(cfg.maxBytes));
  }
  std::string error;
  const std::string path = sp.dir;
  auto s = spool::Spool::open(std::move(sp), error);
  if (!s) {
    log::error("spool_open_failed", {{"route", b.rr.key}, {"dir", path}, {"error", error}});
  }
  return s;
}

/// The subscriber of branch `branch` (an assigned one), feeding the graph.
std::unique_ptr<sources::MqttSource> makeSource(Build& b, int branch) {
  sources::SourceOptions so;
  metrics::RouteMetrics* branchMetrics =
      &b.env.metrics->bindRoute(b.cs.name, b.rs.name, b.dir, std::to_string(branch));
  if (b.rs.qos >= 1) {
    // At-least-once: the branch's messages go through its durable spool (see MqttSource).
    so.spool = openSpool(b, branch, branchMetrics, so);
    if (!so.spool) {
      return nullptr;
    }
  }
  so.filter = b.rs.source;
  so.shareGroup = b.rs.sharedSubscription ? b.rs.sharedSubscription->groupName : "";
  so.qos = b.rs.qos;
  so.branch = static_cast<std::size_t>(branch);
  so.hopMarkerKey = b.cs.hopMarker;
  so.hopMarkerValue = b.cs.protocol == config::MqttVersion::V5 ? b.cs.name : "";
  so.deadLetters = b.letters;
  mqtt::ClientOptions co = clientOptions(
      b.cs, b.toRemote ? b.cs.local : b.cs.remote, config::clientId(b.cs, b.rs, branch),
      b.rr.key + "/" + sideName(!b.toRemote) + "/sub-" + std::to_string(branch));
  co.persistentSession = true;
  return std::make_unique<sources::MqttSource>(std::move(co), std::move(so), *b.rr.graph,
                                               branchMetrics,
                                               b.subMetrics[static_cast<std::size_t>(branch)]);
}

}  // namespace

std::string routeKeyFingerprint(const config::ConnectorSpec& c, const config::RouteSpec& r,
                                const std::vector<int>& clientIndices) {
  return config::routeFingerprint(c, r) + clientList(clientIndices);
}

std::unique_ptr<RunningRoute> buildRoute(const RouteEnv& env, const config::ConnectorSpec& c,
                                         const config::RouteSpec& r,
                                         const std::vector<int>& clientIndices) {
  auto rr = std::make_unique<RunningRoute>();
  rr->key = c.name + "/" + r.name;
  rr->fingerprint = routeKeyFingerprint(c, r, clientIndices);
  rr->connector = std::make_unique<config::ConnectorSpec>(c);
  rr->route = std::make_unique<config::RouteSpec>(r);
  const bool toRemote = rr->route->direction == config::Direction::LocalToRemote;
  Build b{env,
          *rr,
          *rr->connector,
          *rr->route,
          toRemote,
          toRemote ? metrics::kLocalToRemote : metrics::kRemoteToLocal,
          nullptr,
          std::vector<metrics::ClientMetrics*>(static_cast<std::size_t>(rr->route->clientCount()),
                                               nullptr)};
  b.letters = openDeadLetters(b);
  if (!b.letters || !buildGraph(b, std::set<int>(clientIndices.begin(), clientIndices.end()))) {
    return nullptr;
  }
  for (int branch : clientIndices) {
    auto source = makeSource(b, branch);
    if (!source) {
      return nullptr;
    }
    rr->sources.push_back(std::move(source));
  }
  rr->graph->start();
  for (auto& s : rr->sources) {
    s->start();
  }
  log::info("route_started", {{"route", rr->key},
                              {"direction", std::string(b.dir)},
                              {"source", b.rs.source},
                              {"target", b.rs.target.value_or("(source topic)")},
                              {"clients", clientIndices.size()},
                              {"of", b.rs.clientCount()}});
  return rr;
}

void stopRoute(RunningRoute& r, std::chrono::milliseconds drain) {
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

bool drainSpools(const std::vector<RunningRoute*>& routes,
                 std::chrono::steady_clock::time_point deadline) {
  for (RunningRoute* r : routes) {
    for (auto& s : r->sources) {
      s->stopSubscribing();
    }
  }
  auto empty = [&] {
    for (const RunningRoute* r : routes) {
      for (const auto& s : r->sources) {
        if (!s->spoolEmpty()) {
          return false;
        }
      }
    }
    return true;
  };
  while (!empty()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the feeder's own pace
  }
  return true;
}

}  // namespace mqb::app
