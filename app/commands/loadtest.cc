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
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/app_client_options.h"
#include "app/commands.h"
#include "app/version.h"
#include "config/diagnostics.h"
#include "config/model.h"
#include "config/plan.h"
#include "metrics/metrics.h"
#include "pipeline/graph_builder.h"
#include "pipeline/registry.h"
#include "sinks/mqtt/mqtt_sink.h"
#include "sinks/null/null_sink.h"
#include "sources/synthetic/synthetic_source.h"

#include "app/app_config.h"

namespace mqb::app {

namespace {

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

}  // namespace

int loadtestCommand(const LoadtestOptions& o) {
  const char* me = "mqbridge loadtest: ";
  if (o.sink != "null" && o.sink != "route") {
    std::cerr << me << "--sink must be null or route, got \"" << o.sink << "\"\n";
    return 2;
  }
  if (o.count != 0 && o.durationSeconds > 0) {
    std::cerr << me << "--count and --duration are mutually exclusive\n";
    return 2;
  }
  if (o.rate < 0 || o.durationSeconds < 0) {
    std::cerr << me << "--rate and --duration must be >= 0\n";
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
    std::cerr << me << "no route named \"" << o.route << "\"; routes:";
    for (const auto& n : names) {
      std::cerr << ' ' << n;
    }
    std::cerr << '\n';
    return 1;
  }
  const config::RouteSpec& route = *found.route;
  static const config::ConnectorSpec kNoConnector;
  const config::ConnectorSpec& connector =
      found.connector != nullptr ? *found.connector : kNoConnector;

  SinkFactory makeSink;
  std::vector<sinks::null::NullSink*> nulls;
  metrics::Metrics routeMetrics(kVersion, kGitRevision);
  std::vector<metrics::RouteMetrics*> bound;
  std::vector<sinks::MqttSink*> mqttSinks;
  if (o.sink == "null") {
    makeSink = [&nulls](std::size_t) {
      auto s = std::make_unique<sinks::null::NullSink>();
      nulls.push_back(s.get());
      return s;
    };
  } else {
    makeSink = routeSinkFactory(connector, route, routeMetrics, bound, mqttSinks);
  }

  pipeline::RouteGraphSpec spec;
  spec.connector = &connector;
  spec.route = &route;
  spec.registry = &pipeline::Registry::builtin();
  // One synthetic thread feeds every branch: oneTBB's workers run the branches in parallel.
  spec.execution = pipeline::Execution::Workers;
  spec.stages = spec.registry->parseStages(route, diag);
  const std::size_t branches = static_cast<std::size_t>(std::max(1, route.clientCount()));
  for (std::size_t b = 0; b < branches; ++b) {
    spec.sinks.push_back(makeSink(b));
  }
  for (auto* rm : bound) {  // route sink: the graph counts its drops on the same series
    spec.metrics.push_back(*rm);
  }
  auto graph = pipeline::RouteGraph::build(std::move(spec), diag);
  if (!graph || diag.hasErrors()) {
    diag.print(std::cerr);
    return 1;
  }

  sources::synthetic::Options so;
  so.rate = o.rate;
  so.count = o.count;
  so.durationSeconds = o.durationSeconds;
  if (so.count == 0 && so.durationSeconds == 0) {
    so.count = 1'000'000;
  }
  so.payloadBytes = o.payloadBytes;
  so.topicPattern = topicPatternFor(route.source);
  so.qos = static_cast<std::uint8_t>(route.qos);
  pipeline::RouteGraph* g = graph.get();
  sources::synthetic::SyntheticSource source(
      so, [g](pipeline::Batch& batch) { return g->tryPushAny(batch); });

  auto delivered = [&nulls, &bound] {
    std::uint64_t n = 0;
    for (auto* s : nulls) {
      n += s->messages();
    }
    for (auto* rm : bound) {
      n += static_cast<std::uint64_t>(counterValue(rm->forwarded));
    }
    return n;
  };
  // Settled without being forwarded (route sink: dropped by a stage or refused by the broker).
  auto dropped = [&bound] {
    double n = 0;
    for (auto* rm : bound) {
      for (auto* c : rm->dropped) {
        n += counterValue(c);
      }
    }
    return static_cast<std::uint64_t>(n);
  };
  const bool progress = !o.json && isatty(STDOUT_FILENO) != 0;
  graph->start();
  if (!mqttSinks.empty()) {
    // Measure delivery, not connection set-up: wait (bounded) until every publisher is connected.
    const auto connectDeadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    auto allReady = [&mqttSinks] {
      return std::all_of(mqttSinks.begin(), mqttSinks.end(),
                         [](const sinks::MqttSink* s) { return s->ready(); });
    };
    while (!allReady() && std::chrono::steady_clock::now() < connectDeadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!allReady()) {
      std::cerr << me << "the route's target broker did not accept the publisher connection(s) "
                << "within 15 s (see the log)\n";
      graph->stop(std::chrono::seconds(1));
      return 1;
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  source.start();
  auto lastPrint = t0;
  std::uint64_t lastCount = 0;
  // Done when the source finished and everything it produced left the pipeline (or after a
  // 10 s grace period: a stalled sink must not hang the command).
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
                  graph->inflight());
      std::fflush(stdout);
      lastPrint = now;
      lastCount = n;
    }
  }
  const auto t1 = std::chrono::steady_clock::now();
  source.join();
  graph->stop(std::chrono::seconds(5));
  if (progress) {
    std::printf("\r%70s\r", "");
  }

  sinks::null::LatencyHistogram h;
  std::uint64_t delayed = 0;
  for (auto* s : nulls) {
    h.merge(s->latency());
    delayed += s->delayed();
  }
  // Null sink: exact latencies. Route sink: the delivery latency histogram (received -> target
  // acknowledgement), read as bucket upper bounds.
  auto quantileNs = [&](double q) -> std::uint64_t {
    if (!nulls.empty()) {
      return q >= 1 ? h.max() : h.quantile(q);
    }
    return static_cast<std::uint64_t>(histogramQuantile(bound, q) * 1e9);
  };
  // The null sink does not wait for Message::notBefore (rate_limit); it counts such a message as
  // delivered at that time, so the run ends at the latest such time.
  auto end = t1;
  for (auto* s : nulls) {
    end = std::max(end, s->lastDelivery());
  }
  const std::uint64_t messages = delivered();
  const double seconds = std::chrono::duration<double>(end - t0).count();
  const double rate = seconds > 0 ? static_cast<double>(messages) / seconds : 0;
  auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1e3; };
  if (o.json) {
    nlohmann::json j;
    j["route"] = route.name;
    j["sink"] = o.sink;
    j["branches"] = branches;
    j["payloadBytes"] = o.payloadBytes;
    j["messages"] = messages;
    j["seconds"] = seconds;
    j["messagesPerSecond"] = rate;
    j["latencyMicros"] = {{"p50", us(quantileNs(0.50))},
                          {"p90", us(quantileNs(0.90))},
                          {"p99", us(quantileNs(0.99))},
                          {"max", us(quantileNs(1))}};
    j["dropped"] = dropped();
    j["refusedPushes"] = source.refused();
    j["rateLimited"] = delayed;
    std::cout << j.dump() << '\n';
  } else {
    std::printf("route %s: %zu branch(es), sink %s, payload %zu B\n", route.name.c_str(), branches,
                o.sink.c_str(), o.payloadBytes);
    std::printf("messages  %llu in %.3f s = %.0f msg/s\n",
                static_cast<unsigned long long>(messages), seconds, rate);
    std::printf("latency   p50 %.1f us  p90 %.1f us  p99 %.1f us  max %.1f us\n",
                us(quantileNs(0.50)), us(quantileNs(0.90)), us(quantileNs(0.99)),
                us(quantileNs(1)));
    std::printf("backpressure: %llu refused pushes; rate-limited messages: %llu\n",
                static_cast<unsigned long long>(source.refused()),
                static_cast<unsigned long long>(delayed));
  }
  return messages == source.produced() ? 0 : 1;
}

}  // namespace mqb::app
