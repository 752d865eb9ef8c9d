// mqbridge loadtest: runs one route's compiled graph fed by the synthetic source, into a null sink
// (the pipeline alone) or the route's real sink, and reports throughput and end-to-end latency.

#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/commands/cli.h"
#include "app/commands/command.h"
#include "app/runtime/client_options.h"
#include "app/version.h"
#include "common/result.h"
#include "config/diagnostics.h"
#include "config/model.h"
#include "config/plan.h"
#include "metrics/metrics.h"
#include "pipeline/graph_builder.h"
#include "pipeline/registry.h"
#include "sinks/mqtt/mqtt_sink.h"
#include "sinks/null/null_sink.h"
#include "sources/synthetic/synthetic_source.h"

#include "app/runtime/config_load.h"

namespace mqb::app {
namespace {

namespace po = boost::program_options;

struct LoadtestOptions {
  ConfigOptions config;
  std::string route;
  double rate = 0;  ///< messages/s, 0 = as fast as possible
  std::uint64_t count = 0;
  double durationSeconds = 0;
  std::size_t payloadBytes = 64;
  std::string sink = "null";  ///< null | route
  bool json = false;
};

/// Makes the sink of one branch. Empty when the sink kind is not available in this build.
using SinkFactory = std::function<pipeline::SinkPtr(std::size_t branch)>;

/// The route's real sink: the MQTT publisher of branch `branch` on the route's target broker, as
/// `mqbridge run` builds it (protocol, transport, TLS, authentication, retain policy, hop marker),
/// with the client ID `<route's client ID>-loadtest` so that it never takes over the client of a
/// running bridge. Counts go to `metrics` (forwarded, dropped, latency), bound per branch into
/// `bound` (index = branch).
SinkFactory routeSinkFactory(const config::ConnectorSpec& connector, const config::RouteSpec& route,
                             metrics::Metrics& metrics, std::vector<metrics::RouteMetrics*>& bound,
                             std::vector<sinks::MqttSink*>& sinks) {
  return [&connector, &route, &metrics, &bound, &sinks](std::size_t branch) -> pipeline::SinkPtr {
    const bool toRemote = route.direction == config::Direction::LocalToRemote;
    const std::string b = std::to_string(branch);
    metrics::RouteMetrics& rm = metrics.bindRoute(
        connector.name, route.name, toRemote ? "local_to_remote" : "remote_to_local", b);
    bound.push_back(&rm);
    mqtt::ClientOptions co =
        clientOptions(connector, toRemote ? connector.remote : connector.local,
                      config::clientId(connector, route, static_cast<int>(branch)) + "-loadtest",
                      connector.name + "/" + route.name + "/loadtest-pub-" + b);
    co.persistentSession = false;
    sinks::SinkOptions so;
    so.retain = route.retain;
    so.hopMarkerKey = connector.hopMarker;
    so.hopMarkerValue = connector.protocol == config::MqttVersion::V5 ? connector.name : "";
    auto sink = std::make_unique<sinks::MqttSink>(std::move(co), std::move(so), &rm);
    sinks.push_back(sink.get());
    return sink;
  };
}

double counterValue(const prometheus::Counter* c) { return c != nullptr ? c->Value() : 0; }

/// Quantile `q` of the merged latency histograms of `bound`, in seconds: the upper bound of the
/// first bucket that reaches it (the largest finite bound for the +Inf bucket); 0 if empty.
double histogramQuantile(const std::vector<metrics::RouteMetrics*>& bound, double q) {
  std::vector<double> bounds;
  std::vector<double> counts;
  for (const auto* rm : bound) {
    if (rm->latency == nullptr) {
      continue;
    }
    const auto h = rm->latency->Collect().histogram;
    for (std::size_t i = 0; i < h.bucket.size(); ++i) {
      if (bounds.size() <= i) {
        bounds.push_back(h.bucket[i].upper_bound);
        counts.push_back(0);
      }
      counts[i] += static_cast<double>(h.bucket[i].cumulative_count);
    }
  }
  if (counts.empty() || counts.back() == 0) {
    return 0;
  }
  const double want = q * counts.back();
  double lastFinite = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (std::isfinite(bounds[i])) {
      lastFinite = bounds[i];
    }
    if (counts[i] >= want && counts[i] > 0) {
      return std::isfinite(bounds[i]) ? bounds[i] : lastFinite;
    }
  }
  return lastFinite;
}

/// A synthetic topic that the route's source filter matches: '+' and '#' become device levels.
std::string topicPatternFor(const std::string& filter) {
  std::string out;
  bool first = true;
  std::size_t start = 0;
  while (start <= filter.size()) {
    std::size_t end = filter.find('/', start);
    if (end == std::string::npos) {
      end = filter.size();
    }
    std::string level = filter.substr(start, end - start);
    if (level == "+" || level == "#") {
      level = first ? "dev-{n}" : "x";
      first = false;
    }
    out += (out.empty() && start == 0 ? "" : "/") + level;
    start = end + 1;
  }
  if (first) {  // no wildcard: every message on the source topic itself
    return filter;
  }
  return out;
}

struct Found {
  const config::RouteSpec* route = nullptr;
  const config::ConnectorSpec* connector = nullptr;
};

Found findRoute(const config::BridgeConfig& cfg, const std::string& name,
                std::vector<std::string>& names) {
  Found f;
  for (const auto& tm : cfg.topicMaps) {
    for (const auto& r : tm.routes) {
      names.push_back(r.name);
      if (r.name == name && f.route == nullptr) {
        f.route = &r;
        f.connector = cfg.connector(tm.connectorRef);
      }
    }
  }
  return f;
}

const char* const kMe = "mqbridge loadtest: ";

/// Fails with the usage error in the options, if any.
common::Status checkOptions(const LoadtestOptions& o) {
  if (o.sink != "null" && o.sink != "route") {
    return common::Error{"--sink must be null or route, got \"" + o.sink + "\""};
  }
  if (o.count != 0 && o.durationSeconds > 0) {
    return common::Error{"--count and --duration are mutually exclusive"};
  }
  if (o.rate < 0 || o.durationSeconds < 0) {
    return common::Error{"--rate and --duration must be >= 0"};
  }
  return {};
}

/// What the run measured.
struct Figures {
  std::uint64_t messages = 0;
  double seconds = 0;
  std::uint64_t dropped = 0;
  std::uint64_t refused = 0;
  std::uint64_t delayed = 0;
  std::uint64_t produced = 0;
  double latencyMicros[4] = {0, 0, 0, 0};  ///< p50, p90, p99, max
};

/// One run: the route's graph with its sinks, fed by the synthetic source.
class LoadRun {
 public:
  LoadRun(const LoadtestOptions& o, const config::ConnectorSpec& connector,
          const config::RouteSpec& route)
      : o_(o), connector_(connector), route_(route), metrics_(kVersion, kGitRevision) {}

  /// Builds the graph; false (diagnostics printed) on error.
  bool build(config::Diagnostics& diag) {
    SinkFactory makeSink;
    if (o_.sink == "null") {
      makeSink = [this](std::size_t) {
        auto s = std::make_unique<sinks::null::NullSink>();
        nulls_.push_back(s.get());
        return s;
      };
    } else {
      makeSink = routeSinkFactory(connector_, route_, metrics_, bound_, mqttSinks_);
    }
    pipeline::RouteGraphSpec spec;
    spec.route = &route_;
    // One synthetic thread feeds every branch: oneTBB's workers run the branches in parallel.
    spec.execution = pipeline::Execution::Workers;
    spec.stages =
        pipeline::Registry::builtin().parseStages(config::stageChain(&connector_, route_), diag);
    branches_ = static_cast<std::size_t>(std::max(1, route_.clientCount()));
    for (std::size_t b = 0; b < branches_; ++b) {
      spec.sinks.push_back(makeSink(b));
    }
    for (auto* rm : bound_) {  // route sink: the graph counts its drops on the same series
      spec.metrics.push_back(*rm);
    }
    graph_ = pipeline::RouteGraph::build(std::move(spec), diag);
    if (!graph_ || diag.hasErrors()) {
      diag.print(std::cerr);
      return false;
    }
    return true;
  }

  /// Starts the graph and waits (bounded) until every publisher is connected, so that the run
  /// measures delivery, not connection set-up. False (message printed) if one is not.
  bool start() {
    graph_->start();
    if (mqttSinks_.empty()) {
      return true;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    auto allReady = [this] {
      return std::all_of(mqttSinks_.begin(), mqttSinks_.end(),
                         [](const sinks::MqttSink* s) { return s->ready(); });
    };
    while (!allReady() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!allReady()) {
      std::cerr << kMe << "the route's target broker did not accept the publisher connection(s) "
                << "within 15 s (see the log)\n";
      graph_->stop(std::chrono::seconds(1));
      return false;
    }
    return true;
  }

  /// Feeds the graph until the source is done and everything it produced left the pipeline
  /// (or 10 s after the source finished: a stalled sink must not hang the command).
  Figures drive() {
    sources::synthetic::SyntheticSource source(
        sourceOptions(),
        [g = graph_.get()](pipeline::Batch& batch) { return g->tryPushAny(batch); });
    const bool progress = !o_.json && isatty(STDOUT_FILENO) != 0;
    const auto t0 = std::chrono::steady_clock::now();
    source.start();
    auto lastPrint = t0;
    std::uint64_t lastCount = 0;
    std::optional<std::chrono::steady_clock::time_point> sourceDone;
    while (true) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      const auto now = std::chrono::steady_clock::now();
      const std::uint64_t n = delivered();
      if (source.done() && !sourceDone) {
        sourceDone = now;
      }
      if (sourceDone &&
          (n + dropped() >= source.produced() || now - *sourceDone > std::chrono::seconds(10))) {
        break;
      }
      if (progress && now - lastPrint >= std::chrono::milliseconds(250)) {
        const double dt = std::chrono::duration<double>(now - lastPrint).count();
        std::printf("\r%12llu messages  %12.0f msg/s  in flight %8zu ",
                    static_cast<unsigned long long>(n), static_cast<double>(n - lastCount) / dt,
                    graph_->inflight());
        std::fflush(stdout);
        lastPrint = now;
        lastCount = n;
      }
    }
    const auto t1 = std::chrono::steady_clock::now();
    source.join();
    graph_->stop(std::chrono::seconds(5));
    if (progress) {
      std::printf("\r%70s\r", "");
    }
    Figures f = figures(t0, t1);
    f.refused = source.refused();
    f.produced = source.produced();
    return f;
  }

  std::size_t branches() const noexcept { return branches_; }

 private:
  sources::synthetic::Options sourceOptions() const {
    sources::synthetic::Options so;
    so.rate = o_.rate;
    so.count = o_.count;
    so.durationSeconds = o_.durationSeconds;
    if (so.count == 0 && so.durationSeconds == 0) {
      so.count = 1'000'000;
    }
    so.payloadBytes = o_.payloadBytes;
    so.topicPattern = topicPatternFor(route_.source);
    so.qos = static_cast<std::uint8_t>(route_.qos);
    return so;
  }

  std::uint64_t delivered() const {
    std::uint64_t n = 0;
    for (auto* s : nulls_) {
      n += s->messages();
    }
    for (auto* rm : bound_) {
      n += static_cast<std::uint64_t>(counterValue(rm->forwarded));
    }
    return n;
  }

  /// Settled without being forwarded (route sink: dropped by a stage or refused by the broker).
  std::uint64_t dropped() const {
    double n = 0;
    for (auto* rm : bound_) {
      for (auto* c : rm->dropped) {
        n += counterValue(c);
      }
    }
    return static_cast<std::uint64_t>(n);
  }

  /// Null sink: exact latencies. Route sink: the delivery latency histogram (received -> target
  /// acknowledgement), read as bucket upper bounds. The null sink does not wait for
  /// Message::notBefore (rate_limit); it counts such a message as delivered at that time, so the
  /// run ends at the latest such time.
  Figures figures(std::chrono::steady_clock::time_point t0,
                  std::chrono::steady_clock::time_point t1) const {
    Figures f;
    sinks::null::LatencyHistogram h;
    auto end = t1;
    for (auto* s : nulls_) {
      h.merge(s->latency());
      f.delayed += s->delayed();
      end = std::max(end, s->lastDelivery());
    }
    const double qs[4] = {0.50, 0.90, 0.99, 1};
    for (int i = 0; i < 4; ++i) {
      const double q = qs[i];
      const double ns = !nulls_.empty() ? static_cast<double>(q >= 1 ? h.max() : h.quantile(q))
                                        : histogramQuantile(bound_, q) * 1e9;
      f.latencyMicros[i] = ns / 1e3;
    }
    f.messages = delivered();
    f.dropped = dropped();
    f.seconds = std::chrono::duration<double>(end - t0).count();
    return f;
  }

  const LoadtestOptions& o_;
  const config::ConnectorSpec& connector_;
  const config::RouteSpec& route_;
  metrics::Metrics metrics_;
  std::vector<sinks::null::NullSink*> nulls_;
  std::vector<metrics::RouteMetrics*> bound_;
  std::vector<sinks::MqttSink*> mqttSinks_;
  std::size_t branches_ = 1;
  std::unique_ptr<pipeline::RouteGraph> graph_;
};

void report(const LoadtestOptions& o, const std::string& route, std::size_t branches,
            const Figures& f) {
  const double rate = f.seconds > 0 ? static_cast<double>(f.messages) / f.seconds : 0;
  const double* l = f.latencyMicros;
  if (o.json) {
    nlohmann::json j;
    j["route"] = route;
    j["sink"] = o.sink;
    j["branches"] = branches;
    j["payloadBytes"] = o.payloadBytes;
    j["messages"] = f.messages;
    j["seconds"] = f.seconds;
    j["messagesPerSecond"] = rate;
    j["latencyMicros"] = {{"p50", l[0]}, {"p90", l[1]}, {"p99", l[2]}, {"max", l[3]}};
    j["dropped"] = f.dropped;
    j["refusedPushes"] = f.refused;
    j["rateLimited"] = f.delayed;
    std::cout << j.dump() << '\n';
    return;
  }
  std::printf("route %s: %zu branch(es), sink %s, payload %zu B\n", route.c_str(), branches,
              o.sink.c_str(), o.payloadBytes);
  std::printf("messages  %llu in %.3f s = %.0f msg/s\n",
              static_cast<unsigned long long>(f.messages), f.seconds, rate);
  std::printf("latency   p50 %.1f us  p90 %.1f us  p99 %.1f us  max %.1f us\n", l[0], l[1], l[2],
              l[3]);
  std::printf("backpressure: %llu refused pushes; rate-limited messages: %llu\n",
              static_cast<unsigned long long>(f.refused),
              static_cast<unsigned long long>(f.delayed));
}

int loadtest(const LoadtestOptions& o) {
  if (auto checked = checkOptions(o); !checked) {
    std::cerr << kMe << checked.error() << '\n';
    return 2;
  }
  config::Diagnostics diag;
  const std::optional<config::BridgeConfig> cfg = loadConfig(o.config, false, diag);
  if (!cfg) {
    diag.print(std::cerr);
    return 1;
  }
  std::vector<std::string> names;
  const Found found = findRoute(*cfg, o.route, names);
  if (found.route == nullptr) {
    std::cerr << kMe << "no route named \"" << o.route << "\"; routes:";
    for (const auto& n : names) {
      std::cerr << ' ' << n;
    }
    std::cerr << '\n';
    return 1;
  }
  static const config::ConnectorSpec kNoConnector;
  LoadRun run(o, found.connector != nullptr ? *found.connector : kNoConnector, *found.route);
  if (!run.build(diag) || !run.start()) {
    return 1;
  }
  const Figures f = run.drive();
  report(o, found.route->name, run.branches(), f);
  return f.messages == f.produced ? 0 : 1;
}

}  // namespace

int loadtestMain(const Args& args) {
  LoadtestOptions o;
  po::options_description d("loadtest options");
  addConfigOptions(d, o.config);
  d.add_options()("route", po::value(&o.route)->required(), "route name")(
      "rate", po::value(&o.rate)->default_value(0), "messages/s; 0 = as fast as possible")(
      "count", po::value(&o.count), "number of messages")("duration", po::value(&o.durationSeconds),
                                                          "seconds to run")(
      "payload-bytes", po::value(&o.payloadBytes)->default_value(64), "payload size")(
      "sink", po::value(&o.sink)->default_value("null"),
      "null (pipeline only) or route (the route's real sink)")(
      "json", po::bool_switch(&o.json), "print one JSON object with the figures");
  po::variables_map vm;
  if (auto rc = parseCommandLine("loadtest", args, d, nullptr, vm)) {
    return *rc;
  }
  return loadtest(o);
}

}  // namespace mqb::app
